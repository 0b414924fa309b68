import * as Menu from '@radix-ui/react-dropdown-menu';
import { useNavigate } from '@tanstack/react-router';
import { type RefObject, useRef, useState } from 'react';
import { errorMessage } from '../lib/errors';
import { fullName, roleLabel } from '../lib/format';
import { permissionsOf } from '../lib/permissions';
import { useRefreshAdminData } from '../lib/refresh';
import { trpc, type User } from '../trpc';
import { ConfirmDialog } from './confirm-dialog';
import { Email } from './email';
import { useMe } from './me';
import { Modal } from './modal';
import { useToast } from './toast';
import { deactivationSummary, EditUserForm, SetPasswordForm } from './user-forms';

type Open = 'edit' | 'delete' | 'password' | 'role' | 'deactivate' | null;

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

/** Where focus goes once a row is deleted: the next row, else the one before, else the page. */
function focusAfterRemoving(row: Element | null | undefined): HTMLElement | null {
  const neighbour = row?.nextElementSibling ?? row?.previousElementSibling;
  return neighbour?.querySelector<HTMLElement>('a, button') ?? document.getElementById('main');
}

/**
 * A user row's actions: Edit and Delete as buttons, the rarer ones (Set
 * password, role, activity) in a menu. Every accessible name carries the email,
 * so "Edit ada@example.com" is unambiguous in a list. On your own row, what the
 * server would refuse (deleting or demoting yourself) is not offered; the menu
 * says why. Dialogs are created only when opened: a long list stays light.
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
  const can = permissionsOf(me);
  const isSelf = me.id === user.id;
  const manages = can.managesUser(user);
  const [open, setOpen] = useState<Open>(null);
  const moreButton = useRef<HTMLButtonElement>(null);
  const actions = useRef<HTMLDivElement>(null);
  const navigate = useNavigate();
  const unlock = useUnlock(user);
  const close = () => setOpen(null);

  return (
    <div className="row-actions" ref={actions}>
      {manages && (
        <button
          type="button"
          className="btn btn-small"
          aria-label={`Edit ${user.email}`}
          onClick={() => setOpen('edit')}
        >
          Edit
        </button>
      )}
      {manages && !isSelf && (
        <button
          type="button"
          className="btn btn-small btn-danger-quiet"
          aria-label={`Delete ${user.email}`}
          onClick={() => setOpen('delete')}
        >
          Delete
        </button>
      )}

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
            {manages && user.lockedUntil && (
              <Menu.Item
                className="menu-item"
                disabled={unlock.isPending}
                onSelect={() => unlock.mutate({ id: user.id })}
              >
                Unlock sign-in
              </Menu.Item>
            )}
            {manages && !isSelf && (
              <Menu.Item className="menu-item" onSelect={() => setOpen('password')}>
                Set password
              </Menu.Item>
            )}
            {manages &&
              user.active &&
              (isSelf ? (
                <Menu.Item className="menu-item" disabled>
                  Deactivate (you cannot deactivate yourself)
                </Menu.Item>
              ) : (
                <Menu.Item className="menu-item" onSelect={() => setOpen('deactivate')}>
                  Deactivate
                </Menu.Item>
              ))}
            {can.isOrgAdmin &&
              (isSelf ? (
                <Menu.Item className="menu-item" disabled>
                  Change role (you cannot change your own; ask another administrator)
                </Menu.Item>
              ) : (
                <Menu.Item className="menu-item" onSelect={() => setOpen('role')}>
                  Change role
                </Menu.Item>
              ))}
            {manages && isSelf && (
              <Menu.Item className="menu-item" disabled>
                Delete (you cannot delete yourself; ask another administrator)
              </Menu.Item>
            )}
            {can.readsOrganization && (
              <>
                <Menu.Separator className="menu-separator" />
                <Menu.Item
                  className="menu-item"
                  onSelect={() => void navigate({ to: '/audit', search: { user: user.id } })}
                >
                  View activity
                </Menu.Item>
              </>
            )}
          </Menu.Content>
        </Menu.Portal>
      </Menu.Root>

      {open === 'edit' && <EditDialog user={user} isSelf={isSelf} onClose={close} />}
      {open === 'delete' && (
        <DeleteDialog user={user} onClose={close} onDeleted={onDeleted} row={() => actions.current?.closest('tr')} />
      )}
      {open === 'password' && <PasswordDialog user={user} onClose={close} back={moreButton} />}
      {open === 'role' && (
        <RoleDialog user={user} canBeAdmin={user.accountId === defaultAccountId} onClose={close} back={moreButton} />
      )}
      {open === 'deactivate' && <DeactivateDialog user={user} onClose={close} back={moreButton} />}
    </div>
  );
}

/** Dialogs opened from the menu give focus back to the menu's button. */
const focusOn = (target: RefObject<HTMLElement | null>) => (event: Event) => {
  event.preventDefault();
  target.current?.focus();
};

/** Who a confirmation is about: their name and email, in bold. */
function NameAndEmail({ user }: { user: User }) {
  return (
    <strong className="long-text">
      {fullName(user)} (<Email value={user.email} />)
    </strong>
  );
}

/**
 * What a user dialog does once its change is made: closes, says what happened,
 * and refreshes what shows users (`beforeRefresh` first, e.g. leaving a deleted user's page).
 */
function useAfterChange(onClose: () => void) {
  const toast = useToast();
  const refresh = useRefreshAdminData();
  return async (message: string, beforeRefresh?: () => void) => {
    onClose();
    toast.show(message);
    beforeRefresh?.();
    await refresh();
  };
}

function EditDialog({ user, isSelf, onClose }: { user: User; isSelf: boolean; onClose: () => void }) {
  const name = fullName(user);
  return (
    <Modal
      open
      onOpenChange={(next) => !next && onClose()}
      title={`Edit ${name}`}
      description={<Email value={user.email} />}
    >
      <EditUserForm user={user} isSelf={isSelf} onDone={onClose} />
    </Modal>
  );
}

function DeleteDialog({
  user,
  onClose,
  onDeleted,
  row,
}: {
  user: User;
  onClose: () => void;
  onDeleted: (() => void) | undefined;
  row: () => Element | null | undefined;
}) {
  const afterChange = useAfterChange(onClose);
  const name = fullName(user);
  const next = useRef<HTMLElement | null>(null);
  const remove = trpc.users.delete.useMutation({
    onSuccess: async () => {
      // Chosen before the row goes: focus moves on to its neighbour, not to the page's top.
      next.current = onDeleted ? null : focusAfterRemoving(row());
      await afterChange(`${name} (${user.email}) deleted.`, onDeleted);
    },
  });
  return (
    <ConfirmDialog
      open
      onOpenChange={(open) => !open && onClose()}
      title={`Delete ${name}?`}
      confirmLabel="Delete"
      danger
      pending={remove.isPending}
      error={remove.error}
      onConfirm={() => remove.mutate({ id: user.id })}
      onCloseAutoFocus={(event) => {
        if (!next.current) return;
        event.preventDefault();
        next.current.focus();
      }}
    >
      <span className="confirm-text">
        <NameAndEmail user={user} /> will be removed from Roster. Deletion cannot be undone.
      </span>
      <span className="confirm-text">
        If they may need access again later, deactivate them instead: open Edit, clear Active and press Save (that
        revokes their API keys for good).
      </span>
    </ConfirmDialog>
  );
}

function PasswordDialog({
  user,
  onClose,
  back,
}: {
  user: User;
  onClose: () => void;
  back: RefObject<HTMLButtonElement | null>;
}) {
  return (
    <Modal
      open
      onOpenChange={(next) => !next && onClose()}
      title={`Set a password for ${fullName(user)}`}
      description={<Email value={user.email} />}
      onCloseAutoFocus={focusOn(back)}
    >
      <SetPasswordForm user={user} onDone={onClose} />
    </Modal>
  );
}

const roleChoices: { role: User['role']; label: string; hint: string }[] = [
  { role: 'user', label: 'User', hint: 'Their own profile and API keys, nothing more.' },
  {
    role: 'account_admin',
    label: 'Account administrator',
    hint: 'Manages the plain users of their own account: adds, edits, deactivates, deletes, imports and exports them.',
  },
  {
    role: 'auditor',
    label: 'Auditor',
    hint: 'Reads everything an administrator reads (accounts, users, the audit log, sessions, keys) and changes nothing.',
  },
  {
    role: 'admin',
    label: 'Administrator',
    hint: 'Manages every account and user of the organization. Only users of the default account can be one.',
  },
];

/** Gives a user one of the four roles, after confirming what it means (users.setRole, audited). */
function RoleDialog({
  user,
  canBeAdmin,
  onClose,
  back,
}: {
  user: User;
  canBeAdmin: boolean;
  onClose: () => void;
  back: RefObject<HTMLButtonElement | null>;
}) {
  const afterChange = useAfterChange(onClose);
  const name = fullName(user);
  const [role, setRoleChoice] = useState<User['role']>(user.role);
  const chosen = roleChoices.find((choice) => choice.role === role);
  const setRole = trpc.users.setRole.useMutation({
    onSuccess: (updated) =>
      afterChange(
        `${user.email} is now ${roleLabel(updated.role)
          .toLowerCase()
          .replace(/^([aeiou])/, 'an $1')
          .replace(/^([^a])/, 'a $1')}.`,
      ),
  });
  return (
    <ConfirmDialog
      open
      onOpenChange={(open) => !open && onClose()}
      title={`Change the role of ${name}?`}
      confirmLabel="Change role"
      pending={setRole.isPending}
      error={setRole.error}
      confirmDisabled={role === user.role}
      onConfirm={() => setRole.mutate({ id: user.id, role })}
      onCloseAutoFocus={focusOn(back)}
      extra={
        <fieldset className="form role-choices">
          <legend>Role of {user.email}</legend>
          {roleChoices.map((choice) => (
            <label key={choice.role} className="radio">
              <input
                type="radio"
                name="role"
                value={choice.role}
                checked={role === choice.role}
                disabled={choice.role === 'admin' && !canBeAdmin && user.role !== 'admin'}
                onChange={() => setRoleChoice(choice.role)}
              />{' '}
              {choice.label}
              {choice.role === 'admin' && !canBeAdmin && user.role !== 'admin'
                ? ' (only users of the default account)'
                : ''}
            </label>
          ))}
        </fieldset>
      }
    >
      {role === user.role
        ? `${user.email} is ${roleLabel(user.role).toLowerCase()} now. Choose another role.`
        : `${chosen?.hint ?? ''} An organization always keeps at least one active administrator.`}
    </ConfirmDialog>
  );
}

/** Deactivates one user after saying what it ends (their live sessions and working API keys). */
function DeactivateDialog({
  user,
  onClose,
  back,
}: {
  user: User;
  onClose: () => void;
  back: RefObject<HTMLButtonElement | null>;
}) {
  const afterChange = useAfterChange(onClose);
  const name = fullName(user);
  const preview = trpc.users.deactivationPreview.useQuery({ id: user.id }, { staleTime: 0, gcTime: 0 });
  const deactivate = trpc.users.deactivate.useMutation({
    onSuccess: () => afterChange(`${name} (${user.email}) deactivated.`),
  });
  return (
    <ConfirmDialog
      open
      onOpenChange={(open) => !open && onClose()}
      title={`Deactivate ${name}?`}
      confirmLabel="Deactivate"
      danger
      pending={deactivate.isPending}
      error={deactivate.error ?? preview.error}
      confirmDisabled={!preview.data}
      onConfirm={() => deactivate.mutate({ id: user.id, version: user.version })}
      onCloseAutoFocus={focusOn(back)}
    >
      <span className="confirm-text">
        <NameAndEmail user={user} /> will not be able to sign in until reactivated.
      </span>
      <span className="confirm-text" aria-live="polite">
        {preview.data
          ? `${deactivationSummary(preview.data)} Revoked keys do not come back on reactivation.`
          : 'Counting their sessions and API keys…'}
      </span>
    </ConfirmDialog>
  );
}
