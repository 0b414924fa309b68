import { useId } from 'react';

/** A filter of a few fixed choices; the first, valued '', means any. */
export function SelectFilter<V extends string>({
  label,
  value,
  options,
  onChange,
}: {
  label: string;
  value: V | undefined;
  options: ReadonlyArray<readonly ['' | V, string]>;
  onChange: (value: V | undefined) => void;
}) {
  const id = useId();
  return (
    <div className="filter">
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        value={value ?? ''}
        onChange={(event) => {
          const chosen = options.find(([option]) => option === event.target.value)?.[0];
          onChange(chosen ? chosen : undefined);
        }}
      >
        {options.map(([option, text]) => (
          <option key={option} value={option}>
            {text}
          </option>
        ))}
      </select>
    </div>
  );
}
