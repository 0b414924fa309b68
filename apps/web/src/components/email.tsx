import { Fragment } from 'react';

/**
 * An email that wraps only where an address may: before the @ and before each
 * dot (a part too long for the line still breaks, rather than overflow).
 */
export function Email({ value, className }: { value: string; className?: string }) {
  const parts = value.split(/(?=[@.])/);
  return (
    <span className={className ? `email ${className}` : 'email'} title={value}>
      {parts.map((part, index) => (
        <Fragment key={index}>
          {index > 0 && <wbr />}
          {part}
        </Fragment>
      ))}
    </span>
  );
}
