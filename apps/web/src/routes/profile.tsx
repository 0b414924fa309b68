import { zodResolver } from '@hookform/resolvers/zod';
import { changePasswordSchema } from '@roster/api/schemas';
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { z } from 'zod';
import { ApiKeysSection } from '../components/api-keys';
import { Email } from '../components/email';
import { Field, FormError } from '../components/field';
import { useMe } from '../components/me';
import { NewPasswordFields } from '../components/new-password-fields';
import { useToast } from '../components/toast';
import { applyFieldErrors, errorMessage } from '../lib/errors';
import { formatDateTime, fullName, roleLabel } from '../lib/format';
import { useTitle } from '../lib/title';
import { trpc } from '../trpc';

/** Your own profile; everyone has one. */
export function ProfilePage() {
  useTitle('Your profile');
  const me = useMe();
  return (
    <>
      <div className="page-header">
        <div className="page-header-text">
          <h1>Your profile</h1>
        </div>
      </div>
      {me.role !== 'admin' && <AdminsOnlyNotice withTitle />}
      <ProfilePanel />
      <ApiKeysSection />
    </>
  );
}

/** What a plain user sees on an administrator's page: why not, and their own profile. */
export function NotAdminPage() {
  useTitle('For administrators');
  return (
    <>
      <div className="page-header">
        <div className="page-header-text">
          <h1>Account management is for administrators</h1>
        </div>
      </div>
      <AdminsOnlyNotice withTitle={false} />
      <ProfilePanel />
    </>
  );
}

function AdminsOnlyNotice({ withTitle }: { withTitle: boolean }) {
  return (
    <div className="alert alert-info" role="note">
      {withTitle && <p className="alert-title">Account management is for administrators.</p>}
      <p>
        Your user can sign in, but only your organization's administrators can manage accounts and users. Ask one of
        them if you need a change. Here you can see your profile and change your password.
      </p>
    </div>
  );
}

function ProfilePanel() {
  const me = useMe();
  return (
    <div className="profile-grid">
      <section className="card" aria-labelledby="profile-heading">
        <h2 id="profile-heading" className="card-title long-text">
          {fullName(me)}
        </h2>
        <dl className="details">
          <div>
            <dt>Email</dt>
            <dd>
              <Email value={me.email} />
            </dd>
          </div>
          <div>
            <dt>Role</dt>
            <dd>{roleLabel(me.role)}</dd>
          </div>
          <div>
            <dt>Last sign-in</dt>
            <dd>{me.lastLoginAt ? formatDateTime(me.lastLoginAt) : 'Never'}</dd>
          </div>
          <div>
            <dt>Member since</dt>
            <dd>{formatDateTime(me.createdAt)}</dd>
          </div>
        </dl>
      </section>
      <ChangePassword />
    </div>
  );
}

const changeSchema = changePasswordSchema
  .extend({ confirmPassword: z.string() })
  .refine((values) => values.newPassword === values.confirmPassword, {
    path: ['confirmPassword'],
    message: 'The two new passwords differ.',
  });

function ChangePassword() {
  const toast = useToast();
  const change = trpc.auth.changePassword.useMutation();
  const [problem, setProblem] = useState<string | null>(null);
  const form = useForm({
    resolver: zodResolver(changeSchema),
    defaultValues: { currentPassword: '', newPassword: '', confirmPassword: '' },
  });
  const { errors, isSubmitting } = form.formState;
  const submit = form.handleSubmit(async ({ currentPassword, newPassword }) => {
    setProblem(null);
    try {
      await change.mutateAsync({ currentPassword, newPassword });
      form.reset();
      toast.show('Password changed. Your other sessions were signed out.');
    } catch (error) {
      if (!applyFieldErrors(error, form.setError, ['currentPassword', 'newPassword'])) setProblem(errorMessage(error));
    }
  });
  return (
    <section className="card" aria-labelledby="password-heading">
      <h2 id="password-heading" className="card-title">
        Change password
      </h2>
      <form noValidate onSubmit={submit} className="form">
        <FormError>{problem}</FormError>
        <Field label="Current password" error={errors.currentPassword?.message}>
          {(props) => (
            <input {...props} {...form.register('currentPassword')} type="password" autoComplete="current-password" />
          )}
        </Field>
        <NewPasswordFields
          repeatLabel="Confirm new password"
          errors={{ password: errors.newPassword?.message, repeat: errors.confirmPassword?.message }}
          password={form.register('newPassword')}
          repeat={form.register('confirmPassword')}
        />
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={isSubmitting}>
            Change password
          </button>
        </div>
      </form>
    </section>
  );
}
