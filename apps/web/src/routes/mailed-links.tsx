import { useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import { type FormEvent, type ReactNode, useEffect, useRef, useState } from 'react';
import { AuthCard, SignInEmailField } from '../components/auth-card';
import { Email } from '../components/email';
import { FormError, sentence } from '../components/field';
import { NewPasswordFields } from '../components/new-password-fields';
import { Spinner } from '../components/states';
import { emailProblem } from '../lib/email-check';
import { errorCode, errorMessage, errorReason, fieldErrorsOf } from '../lib/errors';
import { formatDateTime } from '../lib/format';
import { markSignedIn } from '../lib/session';
import { useTitle } from '../lib/title';
import { trpc } from '../trpc';

// The pages of mailed links (an invitation, a password reset) and of Forgot
// password?. A link's token is its URL's fragment (#…): browsers never send it
// to the server, so no request log holds it; the page reads it and sends it in
// the body of the call that uses it.

/** The token of the link that opened this page. */
const tokenOfPage = () => decodeURIComponent(window.location.hash.slice(1));

/**
 * The token of the page's link, kept current: a second link pasted into the
 * same tab changes only the fragment, which loads nothing, so the page follows
 * `hashchange` (each page starts over, keyed by the token, for the new link).
 */
function useLinkToken(): string {
  const [token, setToken] = useState(tokenOfPage);
  useEffect(() => {
    const follow = () => setToken(tokenOfPage());
    window.addEventListener('hashchange', follow);
    return () => window.removeEventListener('hashchange', follow);
  }, []);
  return token;
}

/** What a link cut short says (nothing after the #, or too little: a mail program broke the line). */
const incomplete = 'The link is incomplete: open it again from the mail.';

/**
 * Why the server refused the link itself (expired, used, cancelled, unknown, or
 * cut short), in its words, which say what to do; null when it refused something else.
 */
function linkRefusal(error: unknown): string | null {
  const reason = errorReason(error);
  if (reason === 'LINK_EXPIRED' || reason === 'LINK_USED' || reason === 'LINK_INVALID') return errorMessage(error);
  const token = fieldErrorsOf(error).token?.[0];
  return token ? sentence(token) : null;
}

/** What a link that does not work says: why and what to do; nothing else to try. */
function LinkRefused({ message, children }: { message: string; children?: ReactNode }) {
  return (
    <>
      <div className="alert alert-warning" role="alert">
        {message}
      </div>
      {children}
    </>
  );
}

/** The new password twice, with the server's rules (8–256 characters, not a common one). */
function PasswordForm({
  submitLabel,
  pendingLabel,
  pending,
  error,
  onSubmit,
}: {
  submitLabel: string;
  pendingLabel: string;
  pending: boolean;
  error: unknown;
  onSubmit: (password: string) => void;
}) {
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [errors, setErrors] = useState<{ password?: string; repeat?: string }>({});
  const passwordRef = useRef<HTMLInputElement>(null);
  const serverField = fieldErrorsOf(error).password?.[0];
  const failure = error && !serverField && errorCode(error) !== 'BAD_REQUEST' ? errorMessage(error) : null;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found: { password?: string; repeat?: string } = {};
    if (password.length < 8) found.password = 'A password has at least 8 characters.';
    else if (password.length > 256) found.password = 'A password has at most 256 characters.';
    else if (repeat !== password) found.repeat = 'The two passwords are not the same.';
    setErrors(found);
    if (found.password) passwordRef.current?.focus();
    if (found.password || found.repeat) return;
    onSubmit(password);
  };
  return (
    <>
      <FormError>{failure}</FormError>
      <form noValidate onSubmit={submit}>
        <NewPasswordFields
          repeatLabel="Repeat the password"
          errors={{ password: errors.password ?? serverField, repeat: errors.repeat }}
          password={{
            ref: passwordRef,
            name: 'new-password',
            // The page's only purpose is this form, and this is its first field.
            autoFocus: true,
            value: password,
            onChange: (event) => setPassword(event.target.value),
          }}
          repeat={{ name: 'repeat-password', value: repeat, onChange: (event) => setRepeat(event.target.value) }}
        />
        <button type="submit" className="btn btn-primary btn-block" disabled={pending}>
          {pending ? pendingLabel : submitLabel}
        </button>
      </form>
    </>
  );
}

/** `/invitation#<token>`: the organization and email of the invitation, then the first password. */
export function InvitationPage() {
  useTitle('Accept invitation');
  const token = useLinkToken();
  return <Invitation key={token} token={token} />;
}

function Invitation({ token }: { token: string }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  // A POST (auth.invitation is a mutation): the token never appears in a URL a proxy would log.
  const invitation = trpc.auth.invitation.useMutation();
  const { mutate: lookUp } = invitation;
  useEffect(() => {
    if (token) lookUp({ token });
  }, [token, lookUp]);
  const accept = trpc.auth.acceptInvitation.useMutation({
    onSuccess: ({ user }) => {
      markSignedIn(queryClient, user);
      void navigate({ to: '/', replace: true });
    },
  });
  if (!token) {
    return (
      <AuthCard title="Accept invitation">
        <LinkRefused message={incomplete} />
      </AuthCard>
    );
  }
  if (!invitation.data && !invitation.error) {
    return (
      <AuthCard title="Accept invitation">
        <Spinner label="Checking the invitation…" />
      </AuthCard>
    );
  }
  if (invitation.error) {
    return (
      <AuthCard title="Accept invitation">
        <LinkRefused
          message={linkRefusal(invitation.error) ?? `This link could not be checked. ${errorMessage(invitation.error)}`}
        />
      </AuthCard>
    );
  }
  if (!invitation.data) return null;
  const spent = linkRefusal(accept.error);
  return (
    <AuthCard title={`Join ${invitation.data.organization}`}>
      <p className="muted">
        You are invited to <strong>{invitation.data.organization}</strong> as{' '}
        <strong>
          <Email value={invitation.data.email} />
        </strong>
        . Choose your password to sign in. This link works once, until {formatDateTime(invitation.data.expiresAt)}.
      </p>
      {spent ? (
        <LinkRefused message={spent} />
      ) : (
        <PasswordForm
          submitLabel="Set password and sign in"
          pendingLabel="Signing in…"
          pending={accept.isPending}
          error={accept.error}
          onSubmit={(password) => accept.mutate({ token, password })}
        />
      )}
    </AuthCard>
  );
}

/** `/reset-password#<token>`: a new password through a mailed reset link. */
export function ResetPasswordPage() {
  useTitle('Choose a new password');
  const token = useLinkToken();
  return <ResetPassword key={token} token={token} />;
}

function ResetPassword({ token }: { token: string }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const reset = trpc.auth.resetPassword.useMutation({
    onSuccess: ({ user }) => {
      markSignedIn(queryClient, user);
      void navigate({ to: '/', replace: true });
    },
  });
  const refused = token ? linkRefusal(reset.error) : incomplete;
  return (
    <AuthCard title="Choose a new password">
      {refused ? (
        <LinkRefused message={refused}>
          <p className="muted">
            <Link to="/forgot-password">Ask for a new link</Link>
          </p>
        </LinkRefused>
      ) : (
        <>
          <p className="muted">Choosing a new password signs you out everywhere else.</p>
          <PasswordForm
            submitLabel="Set password and sign in"
            pendingLabel="Saving…"
            pending={reset.isPending}
            error={reset.error}
            onSubmit={(password) => reset.mutate({ token, password })}
          />
        </>
      )}
    </AuthCard>
  );
}

/** `/forgot-password`: asks for the email; the answer is the same whether or not it is anyone's. */
export function ForgotPasswordPage() {
  useTitle('Forgot password');
  const [email, setEmail] = useState('');
  const [error, setError] = useState<string | undefined>();
  const request = trpc.auth.requestPasswordReset.useMutation();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const problem = emailProblem(email);
    setError(problem);
    if (!problem) request.mutate({ email: email.trim().toLowerCase() });
  };
  return (
    <AuthCard title="Forgot password">
      {request.data ? (
        <div className="alert alert-info" role="status">
          {request.data.message}
        </div>
      ) : (
        <>
          <p className="muted">Enter the email you sign in with. We mail a link to choose a new password.</p>
          <FormError>{request.error ? errorMessage(request.error) : null}</FormError>
          <form noValidate onSubmit={submit}>
            <SignInEmailField
              value={email}
              onChange={setEmail}
              error={error ?? fieldErrorsOf(request.error).email?.[0]}
            />
            <button type="submit" className="btn btn-primary btn-block" disabled={request.isPending}>
              {request.isPending ? 'Sending…' : 'Send the link'}
            </button>
          </form>
        </>
      )}
      <p className="muted">
        <Link to="/login">Back to sign in</Link>
      </p>
    </AuthCard>
  );
}
