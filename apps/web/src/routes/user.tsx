import { getRouteApi, Link, useCanGoBack, useNavigate, useRouter } from '@tanstack/react-router';
import { useId, useMemo, useRef, useState } from 'react';
import { AccountFilter } from '../components/account-filter';
import { ApiKeysSection } from '../components/api-keys';
import { ConfirmDialog } from '../components/confirm-dialog';
import { type Columns, columnsFor, DataTable } from '../components/data-table';
import { Email } from '../components/email';
import { useMe } from '../components/me';
import { ProvisionedBy } from '../components/provisioned-by';
import { EmptyState, ErrorState, LoadFailed, Spinner } from '../components/states';
import { useToast } from '../components/toast';
import { UserActions, useUnlock } from '../components/user-actions';
import { UserBadges } from '../components/user-badges';
import { errorMessage } from '../lib/errors';
import { formatDate, formatDateTime, fullName, plural, roleLabel } from '../lib/format';
import { permissionsOf, roleBadgeClass } from '../lib/permissions';
import { useRefreshAdminData } from '../lib/refresh';
import { useTitle } from '../lib/title';
import { type Session, trpc, type User } from '../trpc';

const route = getRouteApi('/app/admin/users/$userId');

/** One user as administrators see them: details, sign-in lock, live sessions and API keys. */
export function UserPage() {
  const me = useMe();
  const { userId } = route.useParams();
  const user = trpc.users.get.useQuery({ id: userId }, { retry: false });
  useTitle(user.data ? fullName(user.data) : 'User');

  if (user.isPending) return <Spinner label="Loading user…" />;
  if (user.isError) {
    return (
      <>
        <Breadcrumb />
        <h1>User</h1>
        <LoadFailed
          error={user.error}
          onRetry={() => void user.refetch()}
          gone="This user does not exist, or they were deleted."
          back={<Link to="/users">Back to all users</Link>}
        />
      </>
    );
  }
  const name = fullName(user.data);
  return (
    <>
      <Breadcrumb />
      <UserDetails user={user.data} />
      {user.data.lockedUntil && (
        <LockNotice
          user={user.data}
          lockedUntil={user.data.lockedUntil}
          manages={permissionsOf(me).managesUser(user.data)}
        />
      )}
      {!user.data.hasPassword && (
        <InvitationNotice user={user.data} manages={permissionsOf(me).managesUser(user.data)} />
      )}
      <Sessions user={user.data} />
      <ApiKeysSection userId={user.data.id} ownerLabel={name} />
    </>
  );
}

function Breadcrumb() {
  return (
    <nav aria-label="Breadcrumb" className="breadcrumb">
      <Link to="/users">Users</Link>
    </nav>
  );
}

function UserDetails({ user }: { user: User }) {
  const me = useMe();
  const navigate = useNavigate();
  const router = useRouter();
  const canGoBack = useCanGoBack();
  const account = trpc.accounts.get.useQuery({ id: user.accountId }, { retry: false });
  // Once deleted, back to where the person came from (their search, with its filters), else to all users.
  const leave = () => (canGoBack ? router.history.back() : void navigate({ to: '/users' }));
  return (
    <div className="page-header">
      <div className="page-header-text">
        <h1>
          <span className="long-text">{fullName(user)}</span>{' '}
          {user.id === me.id && <span className="badge badge-blue">You</span>}
        </h1>
        <p className="muted">
          <Email value={user.email} />
        </p>
        <p className="name-cell">
          <span className={roleBadgeClass(user.role)}>{roleLabel(user.role)}</span>
          <UserBadges user={user} />
        </p>
        <dl className="facts">
          <div>
            <dt>Account</dt>
            <dd>
              <Link to="/accounts/$accountId" params={{ accountId: user.accountId }} className="long-text">
                {account.data?.name ?? 'Open account'}
              </Link>{' '}
              {permissionsOf(me).isOrgAdmin && <MoveUser user={user} accountName={account.data?.name} />}
            </dd>
          </div>
          <div>
            <dt>Last sign-in</dt>
            <dd>{user.lastLoginAt ? formatDateTime(user.lastLoginAt) : 'Never'}</dd>
          </div>
          <div>
            <dt>Member since</dt>
            <dd>{formatDate(user.createdAt)}</dd>
          </div>
          <ProvisionedBy userId={user.id} />
        </dl>
      </div>
      <div className="page-actions">
        <UserActions user={user} defaultAccountId={me.accountId} onDeleted={leave} />
      </div>
    </div>
  );
}

/**
 * Moves the user to another account of the organization (users.move, with the
 * version shown, so a change made meanwhile is not overwritten unseen).
 * Administrators stay in the default account: the dialog says so instead.
 */
function MoveUser({ user, accountName }: { user: User; accountName: string | undefined }) {
  const [open, setOpen] = useState(false);
  const [target, setTarget] = useState<string | undefined>(undefined);
  const toast = useToast();
  const refresh = useRefreshAdminData();
  const targetName = trpc.accounts.names.useQuery({ ids: target ? [target] : [] }, { enabled: Boolean(target) });
  const move = trpc.users.move.useMutation({
    onSuccess: async (moved) => {
      setOpen(false);
      toast.show(`${fullName(moved)} moved to ${targetName.data?.[0]?.name ?? 'the other account'}.`);
      await refresh();
    },
  });
  const isAdmin = user.role === 'admin';
  const same = target === user.accountId;
  return (
    <ConfirmDialog
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (!next) {
          setTarget(undefined);
          move.reset();
        }
      }}
      title={`Move ${fullName(user)} to another account`}
      confirmLabel="Move"
      pending={move.isPending}
      error={move.error}
      confirmDisabled={isAdmin || !target || same}
      onConfirm={() => target && move.mutate({ id: user.id, accountId: target, version: user.version })}
      trigger={
        <button type="button" className="btn btn-small">
          Move to another account
        </button>
      }
      extra={
        isAdmin ? null : (
          <div className="form">
            <AccountFilter
              accountId={target}
              onChange={setTarget}
              label="Move to"
              placeholder="Type an account's name"
            />
            {same && <p className="muted">They are in this account already.</p>}
          </div>
        )
      }
    >
      {isAdmin
        ? 'Administrators belong to the default account. Make them a user first (in the ⋯ menu), then move them.'
        : `They are now in ${accountName ? `“${accountName}”` : 'their account'}. Choose the account to move them to; their sessions, API keys and role stay as they are.`}
    </ConfirmDialog>
  );
}

/** An invited user's invitation (resend, cancel), or a way to send one to a user without a password. */
function InvitationNotice({ user, manages }: { user: User; manages: boolean }) {
  const toast = useToast();
  const refresh = useRefreshAdminData();
  const [confirming, setConfirming] = useState(false);
  const resendButton = useRef<HTMLButtonElement>(null);
  // Set once the invitation is cancelled: its Cancel invitation button goes with it, so focus moves on.
  const cancelled = useRef(false);
  const resend = trpc.users.resendInvitation.useMutation({
    onSuccess: async (sent) => {
      toast.show(`Invitation sent to ${sent.email}. The previous link no longer works.`);
      await refresh();
    },
    onError: (error) => toast.show(`Could not send the invitation: ${errorMessage(error)}`),
  });
  const cancel = trpc.users.cancelInvitation.useMutation({
    onSuccess: async (done) => {
      cancelled.current = true;
      setConfirming(false);
      toast.show(`The invitation of ${done.email} is cancelled.`);
      await refresh();
    },
  });
  const until = user.invitationExpiresAt;
  const expired = until !== null && until.getTime() <= Date.now();
  return (
    <div className="alert alert-info" role="note">
      <p className="alert-title">
        {user.invited && until
          ? expired
            ? `Invited: the link expired on ${formatDateTime(until)}.`
            : `Invited: the link in the mail works until ${formatDateTime(until)}.`
          : 'No password and no invitation: this user cannot sign in.'}
      </p>
      <p>
        {user.invited
          ? 'They choose their password through the mailed link. Resending mails a new link; the previous one stops working.'
          : manages
            ? 'Send an invitation so they choose a password themselves, or set one in the ⋯ menu.'
            : 'An administrator can send them an invitation.'}
      </p>
      {manages && (
        <div className="row-actions">
          <button
            ref={resendButton}
            type="button"
            className="btn btn-small"
            disabled={resend.isPending || !user.active}
            title={user.active ? undefined : 'Reactivate the user first.'}
            onClick={() => resend.mutate({ id: user.id })}
          >
            {resend.isPending ? 'Sending…' : user.invited ? 'Resend invitation' : 'Send invitation'}
          </button>
          {user.invited && (
            <ConfirmDialog
              open={confirming}
              onOpenChange={(next) => {
                setConfirming(next);
                if (!next) cancel.reset();
              }}
              title={`Cancel the invitation of ${user.email}?`}
              confirmLabel="Cancel invitation"
              cancelLabel="Keep it"
              danger
              pending={cancel.isPending}
              error={cancel.error}
              onConfirm={() => cancel.mutate({ id: user.id })}
              onCloseAutoFocus={(event) => {
                if (!cancelled.current) return;
                // On Send invitation, the next thing to do (the page itself if it is disabled).
                cancelled.current = false;
                event.preventDefault();
                const next = resendButton.current;
                (next && !next.disabled ? next : document.getElementById('main'))?.focus();
              }}
              trigger={
                <button type="button" className="btn btn-small">
                  Cancel invitation
                </button>
              }
            >
              The link in their mail stops working. The user stays, without a password, until you invite them again or
              set one.
            </ConfirmDialog>
          )}
        </div>
      )}
    </div>
  );
}

function LockNotice({ user, lockedUntil, manages }: { user: User; lockedUntil: Date; manages: boolean }) {
  const unlock = useUnlock(user);
  return (
    <div className="alert alert-warning" role="note">
      <p className="alert-title">Sign-in is locked until {formatDateTime(lockedUntil)}.</p>
      <p>
        There were too many failed sign-ins with this user's email. Unlock it if you know it was them (for example after
        they were given a new password).
      </p>
      {manages && (
        <button
          type="button"
          className="btn btn-small"
          disabled={unlock.isPending}
          onClick={() => unlock.mutate({ id: user.id })}
        >
          {unlock.isPending ? 'Unlocking…' : 'Unlock sign-in'}
        </button>
      )}
    </div>
  );
}

const column = columnsFor<Session>();

function Sessions({ user }: { user: User }) {
  const sessions = trpc.users.sessions.useQuery({ id: user.id });
  const [ending, setEnding] = useState(false);
  const toast = useToast();
  const refresh = useRefreshAdminData();
  const me = useMe();
  const isSelf = me.id === user.id;
  const [revokeKeys, setRevokeKeys] = useState(false);
  const revokeKeysId = useId();
  const end = trpc.users.endSessions.useMutation({
    onSuccess: async ({ ended, apiKeysRevoked }) => {
      setEnding(false);
      toast.show(
        `${user.email}: ${plural(ended, 'session')} ended${revokeKeys ? `, ${plural(apiKeysRevoked, 'API key')} revoked` : ''}.`,
      );
      await refresh();
    },
  });
  const columns = useMemo(() => {
    const list: Columns<Session> = [
      column.accessor('createdAt', {
        header: 'Signed in',
        cell: ({ getValue, row }) => (
          <span className="name-cell">
            {formatDateTime(getValue())}
            {row.original.current && <span className="badge badge-blue">This session</span>}
          </span>
        ),
      }),
      column.accessor('lastSeenAt', { header: 'Last seen', cell: ({ getValue }) => formatDateTime(getValue()) }),
      column.accessor('clientAddress', {
        header: 'Client address',
        cell: ({ getValue }) => getValue() ?? <span className="muted">Unknown</span>,
      }),
      column.accessor('userAgent', {
        header: 'Browser or client',
        cell: ({ getValue }) => <span className="user-agent">{getValue() ?? 'Unknown'}</span>,
      }),
    ];
    return list;
  }, []);
  const items = sessions.data ?? [];
  const others = items.filter((session) => !session.current).length;

  return (
    <section className="section" aria-labelledby="sessions-heading">
      <div className="toolbar">
        <h2 id="sessions-heading" className="section-title">
          Sessions
        </h2>
        {permissionsOf(me).managesUser(user) && items.length > 0 && (!isSelf || others > 0) && (
          <ConfirmDialog
            open={ending}
            onOpenChange={(open) => {
              setEnding(open);
              if (!open) end.reset();
              if (open) setRevokeKeys(false);
            }}
            title={`End all sessions of ${fullName(user)}?`}
            confirmLabel="End all sessions"
            danger
            pending={end.isPending}
            error={end.error}
            onConfirm={() => end.mutate({ id: user.id, revokeApiKeys: revokeKeys })}
            extra={
              <div className="field field-checkbox">
                <input
                  id={revokeKeysId}
                  type="checkbox"
                  checked={revokeKeys}
                  onChange={(event) => setRevokeKeys(event.target.checked)}
                />
                <label htmlFor={revokeKeysId}>Also revoke their API keys</label>
              </div>
            }
            trigger={
              <button type="button" className="btn btn-danger-quiet">
                End all sessions
              </button>
            }
          >
            {isSelf
              ? 'You will be signed out everywhere else; this session stays signed in.'
              : `${user.email} will be signed out on every device at once and must sign in again.`}
          </ConfirmDialog>
        )}
      </div>
      <p className="section-intro muted">Where this user is signed in now, newest first.</p>
      {sessions.isPending ? (
        <Spinner label="Loading sessions…" />
      ) : sessions.isError ? (
        <ErrorState error={sessions.error} onRetry={() => void sessions.refetch()} />
      ) : items.length === 0 ? (
        <EmptyState title="Not signed in anywhere.">No live sessions.</EmptyState>
      ) : (
        <DataTable caption="Sessions" columns={columns} data={items} />
      )}
    </section>
  );
}
