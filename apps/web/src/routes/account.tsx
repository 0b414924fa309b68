import { zodResolver } from '@hookform/resolvers/zod';
import { accountDescriptionSchema, accountNameSchema } from '@roster/api/schemas';
import { getRouteApi, Link, useNavigate } from '@tanstack/react-router';
import { useCallback, useId, useMemo, useState } from 'react';
import { useForm } from 'react-hook-form';
import { z } from 'zod';
import { AccountsBreadcrumb } from '../components/accounts-breadcrumb';
import { ConfirmDialog } from '../components/confirm-dialog';
import { ExportCsvLink } from '../components/export-csv-link';
import { Field, FormError } from '../components/field';
import { useMe } from '../components/me';
import { FormDialogActions, Modal, useDirtyDialog } from '../components/modal';
import { SearchBox } from '../components/search-box';
import { AccountLoadFailed, Spinner } from '../components/states';
import { useToast } from '../components/toast';
import { AddUserForm } from '../components/user-forms';
import { UserResults } from '../components/user-results';
import type { TableSort } from '../components/users-table';
import { applyFieldErrors, errorMessage, errorReason } from '../lib/errors';
import { formatDate, plural } from '../lib/format';
import { usePageSize } from '../lib/page-size';
import { permissionsOf } from '../lib/permissions';
import { useRefreshAdminData } from '../lib/refresh';
import { type AccountSearch, shortSearchHint, userSortOf } from '../lib/search';
import { useTitle } from '../lib/title';
import { type Account, trpc } from '../trpc';

const route = getRouteApi('/app/admin/accounts/$accountId');

/** One account: its details, and the Users section with its users. */
export function AccountPage() {
  const { accountId } = route.useParams();
  const account = trpc.accounts.get.useQuery({ id: accountId }, { retry: false });
  useTitle(account.data?.name ?? 'Account');

  if (account.isPending) return <Spinner label="Loading account…" />;
  if (account.isError) {
    return (
      <>
        <AccountsBreadcrumb />
        <h1>Account</h1>
        <AccountLoadFailed error={account.error} onRetry={() => void account.refetch()} />
      </>
    );
  }
  return (
    <>
      <AccountsBreadcrumb />
      <AccountDetails account={account.data} />
      <AccountUsers account={account.data} />
    </>
  );
}

function AccountDetails({ account }: { account: Account }) {
  const me = useMe();
  const [editing, setEditing] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [typedName, setTypedName] = useState('');
  const typedId = useId();
  // An account with users is only deleted once its name is typed: it takes every user with it.
  const mustType = account.userCount > 0;
  const toast = useToast();
  const navigate = useNavigate();
  const refresh = useRefreshAdminData();
  const remove = trpc.accounts.delete.useMutation({
    onSuccess: async (deleted) => {
      toast.show(`Account “${deleted.name}” deleted, with ${plural(deleted.userCount, 'user')}.`);
      await navigate({ to: '/security/accounts' });
      await refresh();
    },
  });

  return (
    <div className="page-header">
      <div className="page-header-text">
        <h1>
          <span className="long-text">{account.name}</span>{' '}
          {account.isDefault && <span className="badge badge-blue">Default</span>}
        </h1>
        <p className="muted long-text">{account.description || 'No description.'}</p>
        <dl className="facts">
          <div>
            <dt>Users</dt>
            <dd>{account.userCount}</dd>
          </div>
          <div>
            <dt>Created</dt>
            <dd>{formatDate(account.createdAt)}</dd>
          </div>
          <div>
            <dt>Last changed</dt>
            <dd>{formatDate(account.updatedAt)}</dd>
          </div>
        </dl>
        {account.isDefault && (
          <p className="note">The default account holds the organization's administrators. It cannot be deleted.</p>
        )}
      </div>
      {permissionsOf(me).isOrgAdmin && (
        <div className="page-actions">
          <Modal
            open={editing}
            onOpenChange={setEditing}
            title="Edit account"
            trigger={
              <button type="button" className="btn">
                Edit account
              </button>
            }
          >
            {editing && <EditAccountForm account={account} onDone={() => setEditing(false)} />}
          </Modal>
          {!account.isDefault && (
            <ConfirmDialog
              open={deleting}
              onOpenChange={(open) => {
                setDeleting(open);
                setTypedName('');
                if (!open) remove.reset();
              }}
              title={`Delete account “${account.name}”?`}
              confirmLabel="Delete account"
              danger
              confirmDisabled={mustType && typedName.trim() !== account.name}
              extra={
                mustType && (
                  <div className="field">
                    <label htmlFor={typedId} className="long-text">
                      Type the account's name, “{account.name}”, to confirm
                    </label>
                    <input
                      id={typedId}
                      value={typedName}
                      onChange={(event) => setTypedName(event.target.value)}
                      autoComplete="off"
                      spellCheck={false}
                    />
                  </div>
                )
              }
              pending={remove.isPending}
              error={remove.error}
              onConfirm={() => remove.mutate({ id: account.id })}
              trigger={
                <button type="button" className="btn btn-danger-quiet">
                  Delete account
                </button>
              }
            >
              The account and its {plural(account.userCount, 'user')} will be removed. This cannot be undone.
            </ConfirmDialog>
          )}
        </div>
      )}
    </div>
  );
}

const editAccountSchema = z.object({ name: accountNameSchema, description: accountDescriptionSchema });

function EditAccountForm({ account, onDone }: { account: Account; onDone: () => void }) {
  const toast = useToast();
  const refresh = useRefreshAdminData();
  const update = trpc.accounts.update.useMutation();
  const [problem, setProblem] = useState<string | null>(null);
  const form = useForm({
    resolver: zodResolver(editAccountSchema),
    defaultValues: { name: account.name, description: account.description },
  });
  const { errors, isDirty } = form.formState;
  useDirtyDialog(isDirty);
  const submit = form.handleSubmit(async (values) => {
    setProblem(null);
    try {
      const updated = await update.mutateAsync({ id: account.id, ...values });
      await refresh();
      toast.show(`Account “${updated.name}” updated.`);
      onDone();
    } catch (error) {
      if (errorReason(error) === 'ACCOUNT_NAME_TAKEN') {
        form.setError('name', { type: 'server', message: errorMessage(error) }, { shouldFocus: true });
      } else if (!applyFieldErrors(error, form.setError, ['name', 'description'])) {
        setProblem(errorMessage(error));
      }
    }
  });
  return (
    <form noValidate onSubmit={submit} className="form">
      <FormError>{problem}</FormError>
      <Field label="Name" error={errors.name?.message}>
        {(props) => <input {...props} {...form.register('name')} autoComplete="off" />}
      </Field>
      <Field label="Description" error={errors.description?.message}>
        {(props) => <textarea {...props} {...form.register('description')} rows={3} />}
      </Field>
      <FormDialogActions submitLabel="Save" busyLabel="Saving…" busy={form.formState.isSubmitting} />
    </form>
  );
}

function AccountUsers({ account }: { account: Account }) {
  const search = route.useSearch();
  const { q } = search;
  const navigate = useNavigate();
  const me = useMe();
  const [adding, setAdding] = useState(false);
  const pageSize = usePageSize();
  const sort = userSortOf(search);
  const chooseSort = useCallback(
    (next: TableSort) =>
      void navigate({
        to: '.',
        search: (previous: AccountSearch) => ({
          ...previous,
          sort: next.by === 'email' ? undefined : next.by,
          order: next.direction === 'desc' ? ('desc' as const) : undefined,
        }),
        replace: true,
      }),
    [navigate],
  );
  const filter = useMemo(() => ({ accountId: account.id, query: q }), [account.id, q]);
  // Auditors read; administrators, and this account's administrator, change.
  const manages = permissionsOf(me).managesAccount(account.id);
  const users = trpc.users.search.useInfiniteQuery(
    { ...filter, sort, limit: pageSize },
    { getNextPageParam: (page) => page.nextCursor ?? undefined, placeholderData: (previous) => previous },
  );

  return (
    <section aria-labelledby="users-heading" className="section">
      <div className="toolbar">
        <h2 id="users-heading" className="section-title">
          Users
        </h2>
        <SearchBox
          label="Search users in this account"
          value={q ?? ''}
          onChange={(text) =>
            void navigate({
              to: '.',
              search: (previous: AccountSearch) => ({ ...previous, q: text || undefined }),
              replace: true,
            })
          }
        />
        <ExportCsvLink
          filter={{ accountId: account.id, query: q }}
          description={`Download the users of ${account.name} this search shows as a CSV file`}
        />
        {manages && (
          <Modal
            open={adding}
            onOpenChange={setAdding}
            title="Add user"
            description={`To the account “${account.name}”.`}
            trigger={
              <button type="button" className="btn btn-primary">
                Add user
              </button>
            }
          >
            {adding && (
              <AddUserForm
                accountId={account.id}
                isDefaultAccount={account.isDefault}
                onDone={() => setAdding(false)}
              />
            )}
          </Modal>
        )}
        {manages && (
          <Link to="/accounts/$accountId/import" params={{ accountId: account.id }} className="btn">
            Import users
          </Link>
        )}
      </div>
      <UserResults
        users={users}
        filter={filter}
        manages={manages}
        sort={sort}
        onSort={chooseSort}
        caption={`Users of ${account.name}`}
        pageSize={pageSize}
        // The account keeps its user count: the total is known without counting (not for a search).
        total={q ? undefined : account.userCount}
        empty={{
          title: q ? `No user of this account matches “${q}”.` : 'This account has no users yet.',
          hint: q
            ? (shortSearchHint(q) ?? 'Try another name or email, or clear the search.')
            : manages
              ? 'Add a user with the Add user button.'
              : undefined,
        }}
      />
    </section>
  );
}
