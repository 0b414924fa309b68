import { useEffect, useId, useRef, useState } from 'react';

/**
 * A search field that reports its text after the person pauses typing, so the
 * URL (and the query) follows without a request per key stroke.
 */
export function SearchBox({
  label,
  value,
  onChange,
  placeholder,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  placeholder?: string;
}) {
  const id = useId();
  const [text, setText] = useState(value);
  const latest = useRef(onChange);
  latest.current = onChange;

  // Follow the URL when it changes from outside (back button, a link).
  useEffect(() => setText(value), [value]);

  useEffect(() => {
    if (text.trim() === value.trim()) return;
    const timer = window.setTimeout(() => latest.current(text.trim()), 300);
    return () => window.clearTimeout(timer);
  }, [text, value]);

  return (
    <search className="search-box">
      <label htmlFor={id} className="visually-hidden">
        {label}
      </label>
      <input
        id={id}
        type="search"
        value={text}
        placeholder={placeholder ?? label}
        onChange={(event) => setText(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === 'Enter') latest.current(text.trim());
        }}
        maxLength={200}
      />
    </search>
  );
}
