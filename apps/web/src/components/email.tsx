import { Fragment } from 'react';

/**
 * An email that wraps only where an address may: around the @ and before each
 * dot. Each part is kept whole (not even split at a hyphen) unless it is longer
 * than the whole line, when it breaks rather than overflow.
 */
export function Email({ value, className }: { value: string; className?: string }) {
  const parts = value.split(/(?=[@.])|(?<=@)/);
  return (
    <span className={className ? `email ${className}` : 'email'} title={value}>
      {parts.map((part, index) => (
        <Fragment key={index}>
          {index > 0 && <wbr />}
          <span className="email-part">{part}</span>
        </Fragment>
      ))}
    </span>
  );
}
