import { useQueryClient } from '@tanstack/react-query';
import { getRouteApi, Link, useNavigate } from '@tanstack/react-router';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { AuthCard, SignInEmailField } from '../components/auth-card';
import { Field, FormError } from '../components/field';
import { emailProblem } from '../lib/email-check';
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

/** What is plainly missing, said before asking the server; its field errors land beside the same fields. */
export function checkSignIn(email: string, password: string): Errors {
  const errors: Errors = {};
  const problem = emailProblem(email);
  if (problem) errors.email = problem;
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
    <AuthCard title="Sign in">
      <p className="muted">Sign in to manage your organization's accounts and users.</p>
      {reason && !login.error && (
        <div className={reason === 'expired' ? 'alert alert-warning' : 'alert alert-info'} role="status">
          {reasons[reason]}
        </div>
      )}
      <FormError>{failure}</FormError>
      <form noValidate onSubmit={submit}>
        <SignInEmailField value={email} onChange={setEmail} error={errors.email} inputRef={emailRef} />
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
    </AuthCard>
  );
}
