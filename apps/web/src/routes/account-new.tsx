import { zodResolver } from '@hookform/resolvers/zod';
import { createAccountSchema } from '@roster/api/schemas';
import { Link, useBlocker, useNavigate } from '@tanstack/react-router';
import { useRef, useState } from 'react';
import { useFieldArray, useForm } from 'react-hook-form';
import { AccountsBreadcrumb } from '../components/accounts-breadcrumb';
import { ConfirmDialog } from '../components/confirm-dialog';
import { Field, FormError } from '../components/field';
import { useToast } from '../components/toast';
import { emptyAsUndefined } from '../components/user-forms';
import { applyFieldErrors, errorCode, errorMessage, errorReason } from '../lib/errors';
import { plural } from '../lib/format';
import { useRefreshAdminData } from '../lib/refresh';
import { useTitle } from '../lib/title';
import { trpc } from '../trpc';

const blankUser = { firstName: '', lastName: '', email: '', password: undefined };

/** Add account: the account and its first users, created together or not at all. */
export function NewAccountPage() {
  useTitle('Add account');
  const navigate = useNavigate();
  const toast = useToast();
  const refresh = useRefreshAdminData();
  const create = trpc.accounts.create.useMutation();
  const [problem, setProblem] = useState<string | null>(null);
  const form = useForm({
    resolver: zodResolver(createAccountSchema),
    defaultValues: { name: '', description: '', users: [blankUser] },
  });
  const users = useFieldArray({ control: form.control, name: 'users' });
  const { errors, isSubmitting, isDirty } = form.formState;
  const created = useRef(false);

  // A half-filled form is not lost without asking: leaving the page (a link, the back button)
  // asks first, and closing or reloading the tab gets the browser's own warning. An ended
  // session still goes to sign-in: there is nothing to save then.
  const blocker = useBlocker({
    shouldBlockFn: ({ next }) => isDirty && !created.current && next.pathname !== '/login',
    enableBeforeUnload: () => isDirty && !created.current,
    withResolver: true,
  });

  const submit = form.handleSubmit(async (values) => {
    setProblem(null);
    try {
      const account = await create.mutateAsync(values);
      created.current = true;
      await refresh();
      toast.show(`Account “${account.name}” created with ${plural(account.userCount, 'user')}.`);
      await navigate({ to: '/accounts/$accountId', params: { accountId: account.id } });
    } catch (error) {
      if (errorReason(error) === 'ACCOUNT_NAME_TAKEN') {
        form.setError('name', { type: 'server', message: errorMessage(error) }, { shouldFocus: true });
      } else if (!applyFieldErrors(error, form.setError, ['name', 'description', 'users'])) {
        // Anything the server did not pin on a field (a taken email names its row) is for the whole form.
        setProblem(
          errorCode(error) === 'CONFLICT'
            ? `${errorMessage(error)} Check the users' emails; nothing was created.`
            : errorMessage(error),
        );
      }
    }
  });

  return (
    <>
      <AccountsBreadcrumb />
      <div className="page-header">
        <div className="page-header-text">
          <h1>Add account</h1>
          <p className="muted">An account and its users are created together; add more users later on its page.</p>
        </div>
      </div>
      <ConfirmDialog
        open={blocker.status === 'blocked'}
        onOpenChange={(open) => {
          if (!open) blocker.reset?.();
        }}
        title="Leave this page?"
        confirmLabel="Leave and lose it"
        danger
        pending={false}
        error={null}
        onConfirm={() => blocker.proceed?.()}
        cancelLabel="Stay on this page"
      >
        The account you started is not created yet: what you typed on this page will be lost.
      </ConfirmDialog>
      <form noValidate onSubmit={submit} className="form card">
        <FormError>{problem}</FormError>
        <Field label="Name" error={errors.name?.message}>
          {(props) => <input {...props} {...form.register('name')} autoComplete="off" />}
        </Field>
        <Field label="Description (optional)" error={errors.description?.message}>
          {(props) => <textarea {...props} {...form.register('description')} rows={2} />}
        </Field>

        <fieldset className="users-fieldset">
          <legend>Users</legend>
          {errors.users?.message && <p className="field-error">{errors.users.message}</p>}
          {users.fields.map((field, index) => {
            const userErrors = errors.users?.[index];
            return (
              <fieldset key={field.id} className="user-entry">
                <legend>User {index + 1}</legend>
                <div className="form-row">
                  <Field label="First name" error={userErrors?.firstName?.message}>
                    {(props) => <input {...props} {...form.register(`users.${index}.firstName`)} autoComplete="off" />}
                  </Field>
                  <Field label="Last name" error={userErrors?.lastName?.message}>
                    {(props) => <input {...props} {...form.register(`users.${index}.lastName`)} autoComplete="off" />}
                  </Field>
                </div>
                <div className="form-row">
                  <Field label="Email" error={userErrors?.email?.message}>
                    {(props) => (
                      <input {...props} {...form.register(`users.${index}.email`)} type="email" autoComplete="off" />
                    )}
                  </Field>
                  <Field
                    label="Password (optional)"
                    error={userErrors?.password?.message}
                    hint="Without one, they cannot sign in until a password is set."
                  >
                    {(props) => (
                      <input
                        {...props}
                        {...form.register(`users.${index}.password`, { setValueAs: emptyAsUndefined })}
                        type="password"
                        autoComplete="new-password"
                      />
                    )}
                  </Field>
                </div>
                <button
                  type="button"
                  className="btn btn-small btn-quiet"
                  onClick={() => users.remove(index)}
                  aria-label={`Remove user ${index + 1}`}
                >
                  Remove
                </button>
              </fieldset>
            );
          })}
          {users.fields.length === 0 && <p className="muted">No users yet: the account will be empty.</p>}
          <button type="button" className="btn" onClick={() => users.append(blankUser)}>
            Add another user
          </button>
        </fieldset>

        <div className="form-actions">
          <Link to="/security/accounts" className="btn">
            Cancel
          </Link>
          <button type="submit" className="btn btn-primary" disabled={isSubmitting}>
            {isSubmitting ? 'Creating…' : 'Create account'}
          </button>
        </div>
      </form>
    </>
  );
}
