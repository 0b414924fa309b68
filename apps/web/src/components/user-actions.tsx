import * as Menu from '@radix-ui/react-dropdown-menu';
import { useNavigate } from '@tanstack/react-router';
import { useRef, useState } from 'react';
import { errorMessage } from '../lib/errors';
import { fullName } from '../lib/format';
import { useRefreshAdminData } from '../lib/refresh';
import { trpc, type User } from '../trpc';
import { ConfirmDialog } from './confirm-dialog';
import { useMe } from './me';
import { Modal } from './modal';
import { useToast } from './toast';
import { EditUserForm, SetPasswordForm } from './user-forms';

type MenuDialog = 'password' | 'role' | null;

/** Lifts a sign-in lock, and says so in a toast (or why it could not). */
export function useUnlock(user: User) {
  const toast = useToast();
  const refresh = useRefreshAdminData();
  return trpc.users.unlock.useMutation({
    onSuccess: async () => {
      toast.show(`${user.email} is unlocked and can sign in again.`);
      await refresh();
    },
    onError: (error) => toast.show(`Could not unlock ${user.email}: ${errorMessage(error)}`),
  });
}

/**
 * A user row's actions: Edit and Delete as buttons, the rarer ones (Set
 * password, role, activity) in a menu. Every accessible name carries the email,
 * so "Edit ada@example.com" is unambiguous in a list.
 */
export function UserActions({
  user,
  defaultAccountId,
  onDeleted,
}: {
  user: User;
  defaultAccountId: string;
  /** Where to go once the user is gone (their own page leaves for the list). */
  onDeleted?: () => void;
}) {
  const me = useMe();
  const isSelf = me.id === user.id;
  const [editing, setEditing] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [menuDialog, setMenuDialog] = useState<MenuDialog>(null);
  const moreButton = useRef<HTMLButtonElement>(null);
  const navigate = useNavigate();
  const toast = useToast();
  const refresh = useRefreshAdminData();
  const name = fullName(user);

  const remove = trpc.users.delete.useMutation({
    onSuccess: async () => {
      setDeleting(false);
      toast.show(`${name} (${user.email}) deleted.`);
      onDeleted?.();
      await refresh();
    },
  });
  const nextRole = user.role === 'admin' ? 'user' : 'admin';
  const setRole = trpc.users.setRole.useMutation({
    onSuccess: async (updated) => {
      setMenuDialog(null);
      toast.show(
        updated.role === 'admin'
          ? `${user.email} is now an administrator.`
          : `${user.email} is no longer an administrator.`,
      );
      await refresh();
    },
  });
  const unlock = useUnlock(user);
  const canBeAdmin = user.accountId === defaultAccountId;
  // Dialogs opened from the menu give focus back to the menu's button.
  const backToMore = (event: Event) => {
    event.preventDefault();
    moreButton.current?.focus();
  };

  return (
    <div className="row-actions">
      <Modal
        open={editing}
        onOpenChange={setEditing}
        title={`Edit ${name}`}
        description={user.email}
        trigger={
          <button type="button" className="btn btn-small" aria-label={`Edit ${user.email}`}>
            Edit
          </button>
        }
      >
        {editing && <EditUserForm user={user} isSelf={isSelf} onDone={() => setEditing(false)} />}
      </Modal>

      <ConfirmDialog
        open={deleting}
        onOpenChange={(open) => {
          setDeleting(open);
          if (!open) remove.reset();
        }}
        title={`Delete ${name}?`}
        confirmLabel="Delete"
        danger
        pending={remove.isPending}
        error={remove.error}
        onConfirm={() => remove.mutate({ id: user.id })}
        trigger={
          <button type="button" className="btn btn-small btn-danger-quiet" aria-label={`Delete ${user.email}`}>
            Delete
          </button>
        }
      >
        <span className="confirm-text">
          <strong>
            {name} ({user.email})
          </strong>{' '}
          will be removed from Roster. Deletion cannot be undone.
        </span>
        <span className="confirm-text">
          If they may need access again later, deactivate them instead: open Edit, clear Active and press Update (that
          revokes their API keys for good).
        </span>
      </ConfirmDialog>

      <Menu.Root modal={false}>
        <Menu.Trigger asChild>
          <button
            type="button"
            className="btn btn-small btn-icon"
            aria-label={`More actions for ${user.email}`}
            ref={moreButton}
          >
            <span aria-hidden="true">⋯</span>
          </button>
        </Menu.Trigger>
        <Menu.Portal>
          <Menu.Content className="menu" align="end" sideOffset={4}>
            <Menu.Item
              className="menu-item"
              onSelect={() => void navigate({ to: '/users/$userId', params: { userId: user.id } })}
            >
              Open user
            </Menu.Item>
            {user.lockedUntil && (
              <Menu.Item
                className="menu-item"
                disabled={unlock.isPending}
                onSelect={() => unlock.mutate({ id: user.id })}
              >
                Unlock sign-in
              </Menu.Item>
            )}
            <Menu.Item className="menu-item" onSelect={() => setMenuDialog('password')}>
              Set password
            </Menu.Item>
            {(nextRole === 'user' || canBeAdmin) && (
              <Menu.Item className="menu-item" onSelect={() => setMenuDialog('role')}>
                {nextRole === 'admin' ? 'Make administrator' : 'Make user'}
              </Menu.Item>
            )}
            {nextRole === 'admin' && !canBeAdmin && (
              <Menu.Item className="menu-item" disabled>
                Make administrator (only users of the default account can be)
              </Menu.Item>
            )}
            <Menu.Separator className="menu-separator" />
            <Menu.Item
              className="menu-item"
              onSelect={() => void navigate({ to: '/audit', search: { user: user.id } })}
            >
              View activity
            </Menu.Item>
          </Menu.Content>
        </Menu.Portal>
      </Menu.Root>

      <Modal
        open={menuDialog === 'password'}
        onOpenChange={(open) => setMenuDialog(open ? 'password' : null)}
        title={`Set a password for ${name}`}
        description={user.email}
        onCloseAutoFocus={backToMore}
      >
        {menuDialog === 'password' && <SetPasswordForm user={user} onDone={() => setMenuDialog(null)} />}
      </Modal>

      <ConfirmDialog
        open={menuDialog === 'role'}
        onOpenChange={(open) => {
          setMenuDialog(open ? 'role' : null);
          if (!open) setRole.reset();
        }}
        title={nextRole === 'admin' ? `Make ${name} an administrator?` : `Make ${name} a user?`}
        confirmLabel={nextRole === 'admin' ? 'Make administrator' : 'Make user'}
        pending={setRole.isPending}
        error={setRole.error}
        onConfirm={() => setRole.mutate({ id: user.id, role: nextRole })}
        onCloseAutoFocus={backToMore}
      >
        {nextRole === 'admin'
          ? `${user.email} will manage every account and user of the organization.`
          : `${user.email} will no longer manage accounts and users. An organization always keeps at least one active administrator.`}
      </ConfirmDialog>
    </div>
  );
}
