import { useEffect } from 'react';

/** Names the browser tab (and what screen readers announce first) after the page. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Roster`;
  }, [title]);
}
