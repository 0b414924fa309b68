import { zodResolver } from '@hookform/resolvers/zod';
import { loginSchema } from '@roster/api/schemas';
import { useQueryClient } from '@tanstack/react-query';
import { getRouteApi, useNavigate } from '@tanstack/react-router';
import { useEffect } from 'react';
import { useForm } from 'react-hook-form';
import { Field, FormError } from '../components/field';
import { applyFieldErrors, errorCode, errorMessage } from '../lib/errors';
import { safeNext } from '../lib/next';
import { markSignedIn } from '../lib/session';
import { useTitle } from '../lib/title';
import { trpc } from '../trpc';

const route = getRouteApi('/login');

const reasons = {
  expired: 'Your session has ended. Sign in again to continue where you were.',
  'signed-out': 'You have signed out.',
} as const;

export function LoginPage() {
  useTitle('Sign in');
  const { next, reason } = route.useSearch();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const me = trpc.auth.me.useQuery(undefined, { staleTime: 0 });
  const destination = safeNext(next);

  // Already signed in (another tab, or the back button): go on.
  useEffect(() => {
    if (me.data) void navigate({ href: destination, replace: true });
  }, [me.data, destination, navigate]);

  const form = useForm({ resolver: zodResolver(loginSchema), defaultValues: { email: '', password: '' } });
  const login = trpc.auth.login.useMutation({
    onSuccess: ({ user }) => {
      markSignedIn(queryClient, user);
      void navigate({ href: destination, replace: true });
    },
    onError: (error) => {
      applyFieldErrors(error, form.setError, ['email', 'password']);
      if (errorCode(error) === 'UNAUTHORIZED') form.setValue('password', '');
    },
  });
  const { errors } = form.formState;
  const failure = login.error && errorCode(login.error) !== 'BAD_REQUEST' ? errorMessage(login.error) : null;

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
        <form noValidate onSubmit={form.handleSubmit((values) => login.mutate(values))}>
          <Field label="Email" error={errors.email?.message}>
            {(props) => <input {...props} {...form.register('email')} type="email" autoComplete="username" />}
          </Field>
          <Field label="Password" error={errors.password?.message}>
            {(props) => (
              <input {...props} {...form.register('password')} type="password" autoComplete="current-password" />
            )}
          </Field>
          <button type="submit" className="btn btn-primary btn-block" disabled={login.isPending}>
            {login.isPending ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      </div>
    </main>
  );
}
