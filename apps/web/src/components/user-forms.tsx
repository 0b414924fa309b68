import { zodResolver } from '@hookform/resolvers/zod';
import { createUserSchema, emailSchema, firstNameSchema, lastNameSchema, passwordSchema } from '@roster/api/schemas';
import { useRef, useState } from 'react';
import { type UseFormRegisterReturn, useForm, useWatch } from 'react-hook-form';
import { z } from 'zod';
import { applyFieldErrors, errorCode, errorMessage, isDuplicateEmail, isStaleVersion } from '../lib/errors';
import { fullName, plural } from '../lib/format';
import { permissionsOf } from '../lib/permissions';
import { useRefreshAdminData } from '../lib/refresh';
import { trpc, type User } from '../trpc';
import { Field, FormError } from './field';
import { useMe } from './me';
import { FormDialogActions, useDirtyDialog } from './modal';
import { useToast } from './toast';

type PersonField = 'firstName' | 'lastName' | 'email';

/** First name, last name and email: the fields Add user and Edit share. */
function PersonFields({
  register,
  errors,
}: {
  register: (name: PersonField) => UseFormRegisterReturn;
  errors: Partial<Record<PersonField, { message?: string | undefined }>>;
}) {
  return (
    <>
      <div className="form-row">
        <Field label="First name" error={errors.firstName?.message}>
          {(props) => <input {...props} {...register('firstName')} autoComplete="off" />}
        </Field>
        <Field label="Last name" error={errors.lastName?.message}>
          {(props) => <input {...props} {...register('lastName')} autoComplete="off" />}
        </Field>
      </div>
      <Field label="Email" error={errors.email?.message}>
        {(props) => <input {...props} {...register('email')} type="email" autoComplete="off" />}
      </Field>
    </>
  );
}

/** An empty optional field means "not given", not "an empty password". */
export const emptyAsUndefined = (value: unknown) => (value === '' ? undefined : value);

const editSchema = z.object({
  firstName: firstNameSchema,
  lastName: lastNameSchema,
  email: emailSchema,
  active: z.boolean(),
});
type EditValues = z.infer<typeof editSchema>;
const editFields = [
  ['firstName', 'First name'],
  ['lastName', 'Last name'],
  ['email', 'Email'],
  ['active', 'Active'],
] as const;
const valuesOf = (user: User): EditValues => ({
  firstName: user.firstName,
  lastName: user.lastName,
  email: user.email,
  active: user.active,
});
const shown = (value: string | boolean) => (typeof value === 'boolean' ? (value ? 'yes' : 'no') : value);

/** What deactivating ends, in words: "This ends 2 sessions and revokes 1 API key." */
export function deactivationSummary(preview: { sessions: number; apiKeys: number }): string {
  return `This ends ${plural(preview.sessions, 'session')} and revokes ${plural(preview.apiKeys, 'API key')}.`;
}

/** Once Active is cleared on an active user: what saving will end (users.deactivationPreview). */
function DeactivationNote({ user }: { user: User }) {
  const preview = trpc.users.deactivationPreview.useQuery({ id: user.id }, { staleTime: 0 });
  return (
    <p className="muted" aria-live="polite">
      {preview.data ? `Saving deactivates them. ${deactivationSummary(preview.data)}` : 'Saving deactivates them.'}
    </p>
  );
}

/** Someone else saved the user while the form was open: what they changed, and the user as it is now. */
type Conflict = { fresh: User; changes: Array<{ label: string; from: string; to: string }> };

/**
 * Edits names, email and Active in one form. Names and email go through
 * `users.update` with the version the form was opened with; a changed Active
 * then goes through deactivate or reactivate with the version that returned.
 * Only what changed is sent, and the toast says what that was. When someone
 * else saved the user meanwhile, the form keeps what was typed, shows what they
 * changed, and offers to apply the typing on top of their version or to discard it.
 */
export function EditUserForm({ user, isSelf, onDone }: { user: User; isSelf: boolean; onDone: () => void }) {
  const toast = useToast();
  const refresh = useRefreshAdminData();
  const utils = trpc.useUtils();
  // The version the form's values are based on (what "changed" is measured against).
  const base = useRef(user);
  const [problem, setProblem] = useState<string | null>(null);
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const update = trpc.users.update.useMutation();
  const deactivate = trpc.users.deactivate.useMutation();
  const reactivate = trpc.users.reactivate.useMutation();
  const form = useForm({ resolver: zodResolver(editSchema), defaultValues: valuesOf(user) });
  const { errors, isSubmitting, isDirty } = form.formState;
  useDirtyDialog(isDirty);
  const active = useWatch({ control: form.control, name: 'active' });

  const save = async (values: EditValues) => {
    setProblem(null);
    setConflict(null);
    const from = base.current;
    const detailsChanged =
      values.firstName !== from.firstName || values.lastName !== from.lastName || values.email !== from.email;
    const activeChanged = values.active !== from.active;
    if (!detailsChanged && !activeChanged) {
      toast.show(`No changes: ${fullName(from)} (${from.email}) is as it was.`);
      onDone();
      return;
    }
    let step: 'update' | 'active' = 'update';
    try {
      let current = from;
      if (detailsChanged) {
        current = await update.mutateAsync({
          id: user.id,
          firstName: values.firstName,
          lastName: values.lastName,
          email: values.email,
          version: current.version,
        });
        base.current = current;
      }
      if (activeChanged) {
        step = 'active';
        const toggle = values.active ? reactivate : deactivate;
        current = await toggle.mutateAsync({ id: user.id, version: current.version });
        base.current = current;
      }
      await refresh();
      const what = [
        detailsChanged ? 'updated' : null,
        activeChanged ? (current.active ? 'reactivated' : 'deactivated') : null,
      ]
        .filter(Boolean)
        .join(' and ');
      toast.show(`${fullName(current)} (${current.email}) ${what}.`);
      onDone();
    } catch (error) {
      if (step === 'active') void refresh();
      if (isStaleVersion(error)) {
        await showConflict(errorMessage(error));
      } else if (applyFieldErrors(error, form.setError, ['firstName', 'lastName', 'email'])) {
        // Shown beside the fields the server named (a taken email, too).
      } else if (isDuplicateEmail(error)) {
        form.setError('email', { type: 'server', message: errorMessage(error) }, { shouldFocus: true });
      } else if (step === 'active' && errorCode(error) === 'PRECONDITION_FAILED') {
        form.setError('active', { type: 'server', message: errorMessage(error) });
      } else {
        setProblem(errorMessage(error));
      }
    }
  };

  const showConflict = async (message: string) => {
    try {
      const fresh = await utils.users.get.fetch({ id: user.id }, { staleTime: 0 });
      const before = valuesOf(base.current);
      const after = valuesOf(fresh);
      const changes = editFields
        .filter(([field]) => before[field] !== after[field])
        .map(([field, label]) => ({ label, from: shown(before[field]), to: shown(after[field]) }));
      setConflict({ fresh, changes });
      setProblem(message);
      void refresh();
    } catch (error) {
      setProblem(errorMessage(error));
    }
  };

  /** The person's changes (what differs from the version they started from), saved on top of the server's. */
  const applyOnTop = async (fresh: User) => {
    const started = valuesOf(base.current);
    const mine = form.getValues();
    const merged = valuesOf(fresh);
    for (const [field] of editFields) {
      if (mine[field] !== started[field]) Object.assign(merged, { [field]: mine[field] });
    }
    base.current = fresh;
    form.reset(merged);
    await save(merged);
  };

  const discard = (fresh: User) => {
    base.current = fresh;
    form.reset(valuesOf(fresh));
    setConflict(null);
    setProblem(null);
  };

  return (
    <form noValidate onSubmit={form.handleSubmit(save)} className="form">
      {problem && (
        <FormError>
          <p>{problem}</p>
          {conflict && (
            <>
              {conflict.changes.length > 0 && (
                <ul className="changes">
                  {conflict.changes.map((change) => (
                    <li key={change.label} className="long-text">
                      <span className="change-field">{change.label}:</span> {change.from} → {change.to}
                    </li>
                  ))}
                </ul>
              )}
              <p>Your changes are still in the form.</p>
              <div className="alert-actions">
                <button
                  type="button"
                  className="btn btn-small"
                  disabled={isSubmitting}
                  onClick={() => void applyOnTop(conflict.fresh)}
                >
                  Apply my changes on top
                </button>
                <button type="button" className="btn btn-small" onClick={() => discard(conflict.fresh)}>
                  Discard my changes
                </button>
              </div>
            </>
          )}
        </FormError>
      )}
      <PersonFields register={form.register} errors={errors} />
      <Field
        label="Active"
        className="field-checkbox"
        error={errors.active?.message}
        hint={
          isSelf
            ? 'You cannot deactivate yourself.'
            : 'A user who is not active cannot sign in; their open sessions end at once and their API keys are revoked for good (reactivating does not bring them back).'
        }
      >
        {(props) => <input {...props} {...form.register('active')} type="checkbox" disabled={isSelf} />}
      </Field>
      {user.active && !active && <DeactivationNote user={user} />}
      <FormDialogActions submitLabel="Save" busyLabel="Saving…" busy={isSubmitting} />
    </form>
  );
}

const setPasswordSchema = z.object({ password: passwordSchema });

/** Sets a user's password (`users.setPassword`); their sessions end. */
export function SetPasswordForm({ user, onDone }: { user: User; onDone: () => void }) {
  const toast = useToast();
  const refresh = useRefreshAdminData();
  const setPassword = trpc.users.setPassword.useMutation();
  const form = useForm({ resolver: zodResolver(setPasswordSchema), defaultValues: { password: '' } });
  const { errors, isDirty } = form.formState;
  useDirtyDialog(isDirty);
  const submit = form.handleSubmit(async ({ password }) => {
    try {
      await setPassword.mutateAsync({ id: user.id, password });
      await refresh();
      toast.show(`New password set for ${user.email}.`);
      onDone();
    } catch (error) {
      applyFieldErrors(error, form.setError, ['password']);
    }
  });
  const failure = setPassword.error && Object.keys(errors).length === 0 ? errorMessage(setPassword.error) : null;
  return (
    <form noValidate onSubmit={submit} className="form">
      <FormError>{failure}</FormError>
      <Field
        label="New password"
        error={errors.password?.message}
        hint="At least 8 characters. The user is signed out everywhere and signs in with this password next time."
      >
        {(props) => <input {...props} {...form.register('password')} type="password" autoComplete="new-password" />}
      </Field>
      <FormDialogActions submitLabel="Set password" busy={form.formState.isSubmitting} />
    </form>
  );
}

const addUserSchema = createUserSchema.omit({ accountId: true });

/** Adds one more user to an account (`users.create`). */
export function AddUserForm({
  accountId,
  isDefaultAccount,
  onDone,
}: {
  accountId: string;
  isDefaultAccount: boolean;
  onDone: () => void;
}) {
  const me = useMe();
  const toast = useToast();
  const refresh = useRefreshAdminData();
  const create = trpc.users.create.useMutation();
  const form = useForm({
    resolver: zodResolver(addUserSchema),
    defaultValues: { firstName: '', lastName: '', email: '', password: undefined, role: 'user' },
  });
  const { errors, isDirty } = form.formState;
  useDirtyDialog(isDirty);
  const [problem, setProblem] = useState<string | null>(null);
  const submit = form.handleSubmit(async (values) => {
    setProblem(null);
    try {
      const user = await create.mutateAsync({ ...values, accountId });
      await refresh();
      toast.show(`${fullName(user)} (${user.email}) added.`);
      onDone();
    } catch (error) {
      if (applyFieldErrors(error, form.setError, ['firstName', 'lastName', 'email', 'password', 'role'])) {
        // Shown beside the fields the server named (a taken email, too).
      } else if (isDuplicateEmail(error)) {
        form.setError('email', { type: 'server', message: errorMessage(error) }, { shouldFocus: true });
      } else {
        setProblem(errorMessage(error));
      }
    }
  });
  return (
    <form noValidate onSubmit={submit} className="form">
      <FormError>{problem}</FormError>
      <PersonFields register={form.register} errors={errors} />
      <Field
        label="Password (optional)"
        error={errors.password?.message}
        hint="At least 8 characters. Without one, the user is invited by email to choose their own."
      >
        {(props) => (
          <input
            {...props}
            {...form.register('password', { setValueAs: emptyAsUndefined })}
            type="password"
            autoComplete="new-password"
          />
        )}
      </Field>
      {permissionsOf(me).isOrgAdmin && (
        <Field
          label="Role"
          error={errors.role?.message}
          hint="Administrators manage every account and user; account administrators the users of their account; auditors read everything."
        >
          {(props) => (
            <select {...props} {...form.register('role')}>
              <option value="user">User</option>
              <option value="account_admin">Account administrator</option>
              <option value="auditor">Auditor</option>
              {isDefaultAccount && <option value="admin">Administrator</option>}
            </select>
          )}
        </Field>
      )}
      <FormDialogActions submitLabel="Add user" busy={form.formState.isSubmitting} />
    </form>
  );
}
