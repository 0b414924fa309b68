import { zodResolver } from '@hookform/resolvers/zod';
import { apiKeyNameSchema } from '@roster/api/schemas';
import { useMemo, useState } from 'react';
import { useForm } from 'react-hook-form';
import { z } from 'zod';
import { applyFieldErrors, errorMessage, fieldErrorsOf } from '../lib/errors';
import { formatDate } from '../lib/format';
import { usePageSize } from '../lib/page-size';
import { permissionsOf } from '../lib/permissions';
import { type ApiKey, trpc } from '../trpc';
import { type Columns, columnsFor, DataTable, DateTimeOrNever } from './data-table';
import { Field, FormError } from './field';
import { useMe } from './me';
import { FormDialogActions, useDirtyDialog } from './modal';
import { PagedList } from './paged-list';
import { RevokeButton } from './revoke-button';
import { CopyField, CreateThenShowOnce, SecretOnce } from './secret-once';
import { useToast } from './toast';

const column = columnsFor<ApiKey>();

const statusBadge: Record<ApiKey['status'], { label: string; className: string }> = {
  active: { label: 'Active', className: 'badge badge-green' },
  expired: { label: 'Expired', className: 'badge badge-gray' },
  revoked: { label: 'Revoked', className: 'badge badge-red' },
};

/**
 * API keys of one user: your own (`userId` absent), where you may also create
 * keys, or any user's for an administrator, who may only revoke them.
 */
export function ApiKeysSection({ userId, ownerLabel }: { userId?: string; ownerLabel?: string }) {
  const own = userId === undefined;
  // Your own keys are yours to end; another user's, if you manage them (an auditor only reads).
  const me = useMe();
  const owner = trpc.users.get.useQuery({ id: userId ?? me.id }, { enabled: !own });
  const mayRevoke = own || (owner.data !== undefined && permissionsOf(me).managesUser(owner.data));
  const pageSize = usePageSize();
  const keys = trpc.apiKeys.list.useInfiniteQuery(
    { userId, includeRevoked: true, limit: pageSize },
    { getNextPageParam: (page) => page.nextCursor ?? undefined, placeholderData: (previous) => previous },
  );
  const columns = useMemo(() => {
    const list: Columns<ApiKey> = [
      column.accessor('name', {
        header: 'Name',
        cell: ({ getValue }) => (
          <span className="strong clamp" title={getValue()}>
            {getValue()}
          </span>
        ),
      }),
      column.accessor('prefix', {
        header: 'Key',
        cell: ({ getValue }) => <code className="key-prefix">{getValue()}…</code>,
      }),
      column.accessor('createdAt', { header: 'Created', cell: ({ getValue }) => formatDate(getValue()) }),
      column.accessor('lastUsedAt', {
        header: 'Last used',
        cell: ({ getValue }) => <DateTimeOrNever value={getValue()} />,
      }),
      column.accessor('expiresAt', {
        header: 'Expires',
        cell: ({ getValue }) => <DateTimeOrNever value={getValue()} />,
      }),
      column.accessor('status', {
        header: 'Status',
        cell: ({ row }) => {
          const badge = statusBadge[row.original.status];
          return <span className={badge.className}>{badge.label}</span>;
        },
      }),
      column.display({
        id: 'actions',
        header: 'Actions',
        cell: ({ row }) =>
          row.original.status === 'revoked' || !mayRevoke ? null : <RevokeKey apiKey={row.original} />,
      }),
    ];
    return list;
  }, []);

  return (
    <section className="section" aria-labelledby="api-keys-heading">
      <div className="toolbar">
        <h2 id="api-keys-heading" className="section-title">
          API keys
        </h2>
        {own && <CreateApiKey />}
      </div>
      <p className="section-intro muted">
        {own
          ? 'Scripts use an API key to call Roster as you (Authorization: Bearer <key>). Revoke a key as soon as it is no longer needed.'
          : `Keys ${ownerLabel ?? 'this user'} created for scripts. Only they can create keys; you can revoke them.`}
      </p>
      <PagedList
        query={keys}
        loading="Loading API keys…"
        noun={['key', 'keys']}
        pageSize={pageSize}
        empty={{
          title: own ? 'You have no API keys.' : 'No API keys.',
          hint: own ? 'Create one for each script that needs to call Roster.' : undefined,
        }}
      >
        {(items, footer) => <DataTable caption="API keys" columns={columns} data={items} footer={footer} />}
      </PagedList>
    </section>
  );
}

function RevokeKey({ apiKey }: { apiKey: ApiKey }) {
  const toast = useToast();
  const utils = trpc.useUtils();
  const revoke = trpc.apiKeys.revoke.useMutation();
  return (
    <RevokeButton
      name={apiKey.name}
      title={`Revoke API key “${apiKey.name}”?`}
      confirmLabel="Revoke key"
      revoke={revoke}
      input={{ id: apiKey.id }}
      onRevoked={() => {
        toast.show(`API key “${apiKey.name}” revoked.`);
        return Promise.all([utils.apiKeys.invalidate(), utils.audit.invalidate()]);
      }}
    >
      Scripts using the key <code>{apiKey.prefix}…</code> will be refused from now on. This cannot be undone.
    </RevokeButton>
  );
}

/** Today as yyyy-mm-dd in local time, the format of a date input. */
const today = () => {
  const now = new Date();
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;
};

/** A key works until the end of the chosen day, local time. */
const endOfDay = (value: string) => new Date(`${value}T23:59:59`);

const createSchema = z.object({
  name: apiKeyNameSchema,
  expires: z
    .string()
    .refine((value) => value === '' || !Number.isNaN(endOfDay(value).getTime()), 'Enter a date, or leave it empty.')
    .refine((value) => value === '' || endOfDay(value).getTime() > Date.now(), 'The expiry must be in the future.'),
});

function CreateApiKey() {
  return (
    <CreateThenShowOnce<{ name: string; secret: string }>
      label="Create API key"
      title="Create API key"
      shownTitle="Copy your new API key"
      description="The key acts as you: it can do what you can do in Roster."
      form={(onCreated) => <CreateKeyForm onCreated={onCreated} />}
      shown={(created) => <ShowSecret {...created} />}
    />
  );
}

function CreateKeyForm({ onCreated }: { onCreated: (created: { name: string; secret: string }) => void }) {
  const toast = useToast();
  const utils = trpc.useUtils();
  const create = trpc.apiKeys.create.useMutation();
  const [problem, setProblem] = useState<string | null>(null);
  const form = useForm({ resolver: zodResolver(createSchema), defaultValues: { name: '', expires: '' } });
  const { errors, isSubmitting, isDirty } = form.formState;
  useDirtyDialog(isDirty);
  const submit = form.handleSubmit(async ({ name, expires }) => {
    setProblem(null);
    try {
      const result = await create.mutateAsync({ name, expiresAt: expires ? endOfDay(expires) : undefined });
      onCreated({ name: result.apiKey.name, secret: result.secret });
      toast.show(`API key “${result.apiKey.name}” created.`);
      await Promise.all([utils.apiKeys.invalidate(), utils.audit.invalidate()]);
    } catch (error) {
      // A date past the server's limit (API_KEY_MAX_DAYS) comes back on expiresAt.
      if (applyFieldErrors(error, form.setError, ['name'])) return;
      const tooLate = fieldErrorsOf(error).expiresAt?.[0];
      if (tooLate) form.setError('expires', { type: 'server', message: tooLate }, { shouldFocus: true });
      else setProblem(errorMessage(error));
    }
  });
  return (
    <form noValidate onSubmit={submit} className="form">
      <FormError>{problem}</FormError>
      <Field label="Name" error={errors.name?.message} hint="What the key is for, such as “Nightly export”.">
        {(props) => <input {...props} {...form.register('name')} autoComplete="off" maxLength={100} />}
      </Field>
      <Field
        label="Expires on (optional)"
        error={errors.expires?.message}
        hint="The key stops working at the end of that day; every key expires within a year (or the limit your server sets). Leave empty for the longest allowed."
      >
        {(props) => <input {...props} {...form.register('expires')} type="date" min={today()} />}
      </Field>
      <FormDialogActions submitLabel="Create key" busyLabel="Creating…" busy={isSubmitting} />
    </form>
  );
}

function ShowSecret({ name, secret }: { name: string; secret: string }) {
  return (
    <SecretOnce
      warning="You will not see this key again."
      fields={
        <CopyField
          id="new-api-key-secret"
          label={`API key “${name}”`}
          value={secret}
          failed="Copying failed: select the key and copy it."
        />
      }
    >
      Copy it now and keep it somewhere safe. If you lose it, revoke “{name}” and create a new key.
    </SecretOnce>
  );
}
