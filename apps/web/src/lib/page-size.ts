import { useSyncExternalStore } from 'react';

/** How many rows a list loads at a time: 25, 50 or 100, chosen in any list's footer and kept in this browser. */
export const pageSizes = [25, 50, 100] as const;
export type PageSize = (typeof pageSizes)[number];

const storageKey = 'roster.pageSize';
const listeners = new Set<() => void>();

function read(): PageSize {
  try {
    const stored = Number(window.localStorage.getItem(storageKey));
    return pageSizes.find((size) => size === stored) ?? 25;
  } catch {
    return 25;
  }
}

let current: PageSize | undefined;

export function setPageSize(size: PageSize): void {
  current = size;
  try {
    window.localStorage.setItem(storageKey, String(size));
  } catch {
    // Private mode: the choice lasts until the page is closed.
  }
  for (const listener of listeners) listener();
}

export function usePageSize(): PageSize {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => {
      current ??= read();
      return current;
    },
  );
}
