import { zodResolver } from '@hookform/resolvers/zod';
import { createUserSchema, emailSchema, firstNameSchema, lastNameSchema, passwordSchema } from '@roster/api/schemas';
import { useState } from 'react';
import { type UseFormRegisterReturn, useForm } from 'react-hook-form';
import { z } from 'zod';
import { applyFieldErrors, errorCode, errorMessage, isDuplicateEmail, isStaleVersion } from '../lib/errors';
import { fullName } from '../lib/format';
import { useRefreshAdminData } from '../lib/refresh';
import { trpc, type User } from '../trpc';
import { Field, FormError } from './field';
import { FormDialogActions } from './modal';
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

/**
 * Edits names, email and Active in one form. Names and email go through
 * `users.update` with the version the form was opened with; a changed Active
 * then goes through deactivate or reactivate with the version that returned.
 */
export function EditUserForm({ user, isSelf, onDone }: { user: User; isSelf: boolean; onDone: () => void }) {
  const toast = useToast();
  const refresh = useRefreshAdminData();
  const utils = trpc.useUtils();
  const [base, setBase] = useState(user);
  const [problem, setProblem] = useState<{ message: string; stale: boolean } | null>(null);
  const update = trpc.users.update.useMutation();
  const deactivate = trpc.users.deactivate.useMutation();
  const reactivate = trpc.users.reactivate.useMutation();
  const form = useForm({
    resolver: zodResolver(editSchema),
    defaultValues: { firstName: user.firstName, lastName: user.lastName, email: user.email, active: user.active },
  });
  const { errors, isSubmitting } = form.formState;

  const reload = async () => {
    try {
      const fresh = await utils.users.get.fetch({ id: user.id }, { staleTime: 0 });
      setBase(fresh);
      form.reset({ firstName: fresh.firstName, lastName: fresh.lastName, email: fresh.email, active: fresh.active });
      setProblem(null);
      void refresh();
    } catch (error) {
      setProblem({ message: errorMessage(error), stale: false });
    }
  };

  const submit = form.handleSubmit(async (values) => {
    setProblem(null);
    let step: 'update' | 'active' = 'update';
    try {
      const updated = await update.mutateAsync({
        id: user.id,
        firstName: values.firstName,
        lastName: values.lastName,
        email: values.email,
        version: base.version,
      });
      setBase(updated);
      let final = updated;
      if (values.active !== updated.active) {
        step = 'active';
        const toggle = values.active ? reactivate : deactivate;
        final = await toggle.mutateAsync({ id: user.id, version: updated.version });
        setBase(final);
      }
      await refresh();
      const what = final.active !== user.active ? (final.active ? 'reactivated' : 'deactivated') : 'updated';
      toast.show(`${fullName(final)} (${final.email}) ${what}.`);
      onDone();
    } catch (error) {
      if (step === 'active') void refresh();
      if (isStaleVersion(error)) {
        setProblem({ message: errorMessage(error), stale: true });
      } else if (applyFieldErrors(error, form.setError, ['firstName', 'lastName', 'email'])) {
        // Shown beside the fields the server named (a taken email, too).
      } else if (isDuplicateEmail(error)) {
        form.setError('email', { type: 'server', message: errorMessage(error) }, { shouldFocus: true });
      } else if (step === 'active' && errorCode(error) === 'PRECONDITION_FAILED') {
        form.setError('active', { type: 'server', message: errorMessage(error) });
      } else {
        setProblem({ message: errorMessage(error), stale: false });
      }
    }
  });

  return (
    <form noValidate onSubmit={submit} className="form">
      {problem && (
        <FormError>
          <p>{problem.message}</p>
          {problem.stale && (
            <button type="button" className="btn btn-small" onClick={() => void reload()}>
              Reload
            </button>
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
      <FormDialogActions submitLabel="Update" busyLabel="Updating…" busy={isSubmitting} />
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
  const { errors } = form.formState;
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
  const toast = useToast();
  const refresh = useRefreshAdminData();
  const create = trpc.users.create.useMutation();
  const form = useForm({
    resolver: zodResolver(addUserSchema),
    defaultValues: { firstName: '', lastName: '', email: '', password: undefined, role: 'user' },
  });
  const { errors } = form.formState;
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
        hint="At least 8 characters. Without one, the user cannot sign in until you set a password."
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
      {isDefaultAccount && (
        <Field label="Role" error={errors.role?.message} hint="Administrators manage every account and user.">
          {(props) => (
            <select {...props} {...form.register('role')}>
              <option value="user">User</option>
              <option value="admin">Administrator</option>
            </select>
          )}
        </Field>
      )}
      <FormDialogActions submitLabel="Add user" busy={form.formState.isSubmitting} />
    </form>
  );
}
