import { useQueryClient } from '@tanstack/react-query';
import { getRouteApi, Link, useNavigate } from '@tanstack/react-router';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { Field, FormError } from '../components/field';
import { errorCode, errorMessage, fieldErrorsOf } from '../lib/errors';
import { safeNext } from '../lib/next';
import { markSignedIn } from '../lib/session';
import { useTitle } from '../lib/title';
import { trpc } from '../trpc';

const route = getRouteApi('/login');

const reasons = {
  expired: 'Your session has ended. Sign in again to continue where you were.',
  'signed-out': 'You have signed out.',
} as const;

type Errors = { email?: string; password?: string };

/**
 * What is plainly missing, said before asking the server. Checked by hand, not
 * with the API's zod schema: the sign-in page is the first page anyone opens,
 * and needs no validation library. The server checks everything again and its
 * field errors land beside the same fields.
 */
export function checkSignIn(email: string, password: string): Errors {
  const errors: Errors = {};
  const trimmed = email.trim();
  if (trimmed === '') errors.email = 'Enter an email address.';
  else if (trimmed.length > 254) errors.email = 'An email address has at most 254 characters.';
  else if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(trimmed)) {
    errors.email = 'Enter a valid email address, like name@example.com.';
  }
  if (password === '') errors.password = 'Enter your password.';
  return errors;
}

export function LoginPage() {
  useTitle('Sign in');
  const { next, reason } = route.useSearch();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const me = trpc.auth.me.useQuery(undefined, { staleTime: 0 });
  const destination = safeNext(next);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<Errors>({});
  const emailRef = useRef<HTMLInputElement>(null);
  const passwordRef = useRef<HTMLInputElement>(null);

  // Already signed in (another tab, or the back button): go on.
  useEffect(() => {
    if (me.data) void navigate({ href: destination, replace: true });
  }, [me.data, destination, navigate]);

  const showErrors = (found: Errors) => {
    setErrors(found);
    if (found.email) emailRef.current?.focus();
    else if (found.password) passwordRef.current?.focus();
  };

  const login = trpc.auth.login.useMutation({
    onSuccess: ({ user }) => {
      markSignedIn(queryClient, user);
      void navigate({ href: destination, replace: true });
    },
    onError: (error) => {
      const fields = fieldErrorsOf(error);
      const found: Errors = {};
      if (fields.email?.[0]) found.email = fields.email[0];
      if (fields.password?.[0]) found.password = fields.password[0];
      showErrors(found);
      if (errorCode(error) === 'UNAUTHORIZED') setPassword('');
    },
  });
  const failure = login.error && errorCode(login.error) !== 'BAD_REQUEST' ? errorMessage(login.error) : null;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found = checkSignIn(email, password);
    if (found.email || found.password) {
      showErrors(found);
      return;
    }
    setErrors({});
    login.mutate({ email: email.trim().toLowerCase(), password });
  };

  return (
    <main className="login" id="main">
      <div className="login-card">
        <p className="brand brand-large" aria-hidden="true">
          <span className="brand-mark">R</span>
          Roster
        </p>
        <h1>Sign in</h1>
        <p className="muted">Sign in to manage your organization's accounts and users.</p>
        {reason && !login.error && (
          <div className={reason === 'expired' ? 'alert alert-warning' : 'alert alert-info'} role="status">
            {reasons[reason]}
          </div>
        )}
        <FormError>{failure}</FormError>
        <form noValidate onSubmit={submit}>
          <Field label="Email" error={errors.email}>
            {(props) => (
              <input
                {...props}
                ref={emailRef}
                name="email"
                type="email"
                autoComplete="username"
                // The one thing to do on this page: the cursor starts there.
                // biome-ignore lint/a11y/noAutofocus: the page's only purpose is this form, and it is its first field.
                autoFocus
                value={email}
                onChange={(event) => setEmail(event.target.value)}
              />
            )}
          </Field>
          <Field label="Password" error={errors.password}>
            {(props) => (
              <input
                {...props}
                ref={passwordRef}
                name="password"
                type="password"
                autoComplete="current-password"
                value={password}
                onChange={(event) => setPassword(event.target.value)}
              />
            )}
          </Field>
          <button type="submit" className="btn btn-primary btn-block" disabled={login.isPending}>
            {login.isPending ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
        <p className="muted">
          <Link to="/forgot-password">Forgot password?</Link>
        </p>
      </div>
    </main>
  );
}
