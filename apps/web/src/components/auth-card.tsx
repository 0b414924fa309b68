import type { ReactNode, Ref } from 'react';
import { Field } from './field';

/** The card of the pages one opens signed out: sign in, a mailed link, Forgot password?. */
export function AuthCard({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main className="login" id="main">
      <div className="login-card">
        <p className="brand brand-large" aria-hidden="true">
          <span className="brand-mark">R</span>
          Roster
        </p>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}

/** The email one signs in with: the first field of its page, so the cursor starts there. */
export function SignInEmailField({
  value,
  onChange,
  error,
  inputRef,
}: {
  value: string;
  onChange: (value: string) => void;
  error: string | undefined;
  inputRef?: Ref<HTMLInputElement>;
}) {
  return (
    <Field label="Email" error={error}>
      {(props) => (
        <input
          {...props}
          ref={inputRef}
          name="email"
          type="email"
          autoComplete="username"
          // biome-ignore lint/a11y/noAutofocus: the page's only purpose is this form, and it is its first field.
          autoFocus
          value={value}
          onChange={(event) => onChange(event.target.value)}
        />
      )}
    </Field>
  );
}
