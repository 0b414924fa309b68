import type { InputHTMLAttributes, Ref } from 'react';
import { Field } from './field';

/** What a caller gives each input: its value and events, from react-hook-form's `register` or its own state. */
type InputProps = Omit<InputHTMLAttributes<HTMLInputElement>, 'type' | 'autoComplete' | 'id'> & {
  ref?: Ref<HTMLInputElement>;
};

/**
 * A new password and the same again: the server's rule as the hint, each
 * error beside its field, and `new-password` so password managers offer one.
 */
export function NewPasswordFields({
  password,
  repeat,
  repeatLabel,
  errors,
}: {
  password: InputProps;
  repeat: InputProps;
  /** "Repeat the password" where it is the only one; "Confirm new password" beside the current one. */
  repeatLabel: string;
  errors: { password?: string | undefined; repeat?: string | undefined };
}) {
  return (
    <>
      <Field label="New password" hint="At least 8 characters." error={errors.password}>
        {(props) => <input {...props} {...password} type="password" autoComplete="new-password" />}
      </Field>
      <Field label={repeatLabel} error={errors.repeat}>
        {(props) => <input {...props} {...repeat} type="password" autoComplete="new-password" />}
      </Field>
    </>
  );
}
