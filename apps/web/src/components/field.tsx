import { type ReactNode, useId } from 'react';

/** Messages are sentences: they end with a period (or another final mark) wherever they come from. */
export function sentence(message: string): string {
  const text = message.trim();
  return text === '' || /[.!?…:]$/.test(text) ? text : `${text}.`;
}

export type ControlProps = {
  id: string;
  'aria-invalid': boolean;
  'aria-describedby'?: string;
};

/**
 * A labelled form control with its hint and its error right below it. The
 * control itself is the caller's (`{(props) => <input {...props} {...register('email')} />}`).
 */
export function Field({
  label,
  error,
  hint,
  children,
  className,
}: {
  label: string;
  error?: string | undefined;
  hint?: ReactNode;
  children: (props: ControlProps) => ReactNode;
  className?: string;
}) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [hint ? hintId : null, error ? errorId : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field${error ? ' field-invalid' : ''}${className ? ` ${className}` : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-invalid': Boolean(error), 'aria-describedby': describedBy })}
      {hint && (
        <p className="field-hint" id={hintId}>
          {hint}
        </p>
      )}
      {error && (
        <p className="field-error" id={errorId}>
          {sentence(error)}
        </p>
      )}
    </div>
  );
}

/** A message that belongs to the whole form rather than one field. */
export function FormError({ children }: { children: ReactNode }) {
  if (!children) return null;
  return (
    <div className="alert alert-error" role="alert">
      {children}
    </div>
  );
}
