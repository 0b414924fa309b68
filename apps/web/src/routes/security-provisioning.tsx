import { useEffect, useId, useMemo, useState } from 'react';
import { type Columns, columnsFor, DataTable, DateTimeOrNever } from '../components/data-table';
import { FormError } from '../components/field';
import { useMe } from '../components/me';
import { FormDialogActions } from '../components/modal';
import { RevokeButton } from '../components/revoke-button';
import { CopyField, CreateThenShowOnce, SecretOnce } from '../components/secret-once';
import { EmptyState } from '../components/states';
import { useToast } from '../components/toast';
import { errorMessage } from '../lib/errors';
import { formatDate } from '../lib/format';
import { permissionsOf } from '../lib/permissions';
import { type RouterOutputs, trpc } from '../trpc';

type Connection = RouterOutputs['scim']['connections']['list'][number];

const column = columnsFor<Connection>();

/** The SCIM base URL identity providers are given: this server's own address. */
const scimBaseUrl = () => `${window.location.origin}/scim/v2`;

/** Security Settings > Provisioning: SCIM connections of identity providers (Okta, Entra ID). */
export function ProvisioningTab() {
  // Auditors see the connections; only administrators add or revoke them.
  const isOrgAdmin = permissionsOf(useMe()).isOrgAdmin;
  const connections = trpc.scim.connections.list.useQuery({});
  const columns = useMemo(() => {
    const list: Columns<Connection> = [
      column.accessor('name', {
        header: 'Name',
        cell: ({ row }) => (
          <>
            <span className="strong">{row.original.name}</span>{' '}
            <code className="key-prefix">{row.original.prefix}…</code>
          </>
        ),
      }),
      column.accessor('accountName', { header: 'Account' }),
      column.accessor('createdAt', { header: 'Created', cell: ({ getValue }) => formatDate(getValue()) }),
      column.accessor('lastUsedAt', {
        header: 'Last used',
        cell: ({ getValue }) => <DateTimeOrNever value={getValue()} />,
      }),
      column.accessor('status', {
        header: 'Status',
        cell: ({ getValue }) =>
          getValue() === 'active' ? (
            <span className="badge badge-green">Active</span>
          ) : (
            <span className="badge badge-red">Revoked</span>
          ),
      }),
      column.display({
        id: 'actions',
        header: 'Actions',
        cell: ({ row }) =>
          row.original.status === 'revoked' || !isOrgAdmin ? null : <RevokeConnection connection={row.original} />,
      }),
    ];
    return list;
  }, []);

  return (
    <section aria-labelledby="provisioning-heading">
      <div className="toolbar">
        <h2 id="provisioning-heading" className="section-title">
          Provisioning
        </h2>
        {isOrgAdmin && <AddConnection />}
      </div>
      <p className="muted section-intro">
        An identity provider (Okta, Microsoft Entra ID, …) creates, updates, deactivates and deletes the users of one
        account over SCIM 2.0, at <code>{scimBaseUrl()}</code>. Administrators are never changed through SCIM.
      </p>
      {connections.isPending ? (
        <p className="muted">Loading connections…</p>
      ) : connections.error ? (
        <FormError>{errorMessage(connections.error)}</FormError>
      ) : connections.data.length === 0 ? (
        <EmptyState title="No provisioning connections.">
          Add one for each identity provider that should manage an account’s users.
        </EmptyState>
      ) : (
        <DataTable caption="Provisioning connections" columns={columns} data={connections.data} />
      )}
    </section>
  );
}

function RevokeConnection({ connection }: { connection: Connection }) {
  const toast = useToast();
  const utils = trpc.useUtils();
  const revoke = trpc.scim.connections.revoke.useMutation();
  return (
    <RevokeButton
      name={connection.name}
      title={`Revoke connection “${connection.name}”?`}
      confirmLabel="Revoke connection"
      revoke={revoke}
      input={{ id: connection.id }}
      onRevoked={() => {
        toast.show(`Connection “${connection.name}” revoked.`);
        return Promise.all([utils.scim.invalidate(), utils.audit.invalidate()]);
      }}
    >
      The identity provider using <code>{connection.prefix}…</code> is refused from now on and stops provisioning the
      users of “{connection.accountName}”. Its users stay as they are. This cannot be undone.
    </RevokeButton>
  );
}

function AddConnection() {
  return (
    <CreateThenShowOnce<{ name: string; token: string }>
      label="Add connection"
      title="Add connection"
      shownTitle="Set up your identity provider"
      description="The identity provider will manage the users of the account you choose."
      form={(onCreated) => <AddConnectionForm onCreated={onCreated} />}
      shown={(created) => <ShowToken {...created} />}
    />
  );
}

function AddConnectionForm({ onCreated }: { onCreated: (created: { name: string; token: string }) => void }) {
  const toast = useToast();
  const utils = trpc.useUtils();
  const create = trpc.scim.connections.create.useMutation();
  const nameId = useId();
  const accountId = useId();
  const listId = useId();
  const [name, setName] = useState('');
  const [accountText, setAccountText] = useState('');
  const [query, setQuery] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    const timer = window.setTimeout(() => setQuery(accountText.trim()), 200);
    return () => window.clearTimeout(timer);
  }, [accountText]);
  const accounts = trpc.accounts.list.useQuery(
    { query: query || undefined, limit: 20 },
    { placeholderData: (previous) => previous },
  );
  const exact = (items: { id: string; name: string }[] | undefined) =>
    items?.find((a) => a.name.toLowerCase() === accountText.trim().toLowerCase());

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setProblem(null);
    if (!name.trim()) return setProblem('Enter a name, such as “Okta”.');
    try {
      // The list may not have caught up with the typing yet: ask for the name itself.
      const account =
        exact(accounts.data?.items) ??
        exact((await utils.accounts.list.fetch({ query: accountText.trim() || undefined, limit: 20 })).items);
      if (!account) return setProblem('Choose an account from the list.');
      const result = await create.mutateAsync({ accountId: account.id, name: name.trim() });
      onCreated({ name: result.connection.name, token: result.token });
      toast.show(`Connection “${result.connection.name}” added.`);
      await Promise.all([utils.scim.invalidate(), utils.audit.invalidate()]);
    } catch (error) {
      setProblem(errorMessage(error));
    }
  };
  return (
    <form noValidate onSubmit={(event) => void submit(event)} className="form">
      <FormError>{problem}</FormError>
      <div className="field">
        <label htmlFor={nameId}>Name</label>
        <input
          id={nameId}
          value={name}
          maxLength={100}
          autoComplete="off"
          onChange={(event) => setName(event.target.value)}
        />
        <p className="field-hint">The identity provider, such as “Okta” or “Entra ID”.</p>
      </div>
      <div className="field">
        <label htmlFor={accountId}>Account</label>
        <input
          id={accountId}
          type="search"
          list={listId}
          autoComplete="off"
          value={accountText}
          onChange={(event) => setAccountText(event.target.value)}
        />
        <datalist id={listId}>
          {(accounts.data?.items ?? []).map((a) => (
            <option key={a.id} value={a.name} />
          ))}
        </datalist>
        <p className="field-hint">Its users are the ones the identity provider creates, changes and deletes.</p>
      </div>
      <FormDialogActions submitLabel="Add connection" busyLabel="Adding…" busy={create.isPending} />
    </form>
  );
}

function ShowToken({ name, token }: { name: string; token: string }) {
  const failed = 'Copying failed: select it and copy it.';
  return (
    <SecretOnce
      warning="You will not see this token again."
      fields={
        <>
          <CopyField
            id="scim-base-url"
            label="SCIM base URL"
            value={scimBaseUrl()}
            copyLabel="Copy SCIM base URL"
            failed={failed}
          />
          <CopyField id="scim-token" label="Token" value={token} copyLabel="Copy Token" failed={failed} />
        </>
      }
    >
      Paste the base URL and the token into your identity provider’s SCIM settings now. If you lose the token, revoke “
      {name}” and add a new connection.
    </SecretOnce>
  );
}
