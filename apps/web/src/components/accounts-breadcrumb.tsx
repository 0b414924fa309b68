import { Link } from '@tanstack/react-router';
import { permissionsOf } from '../lib/permissions';
import { useMe } from './me';

/** Security Settings / Accounts, above an account's page or Add account. */
export function AccountsBreadcrumb() {
  // An account administrator's account is their whole console: no Security Settings above it.
  if (!permissionsOf(useMe()).readsOrganization) return null;
  return (
    <nav aria-label="Breadcrumb" className="breadcrumb">
      <Link to="/security/accounts">Security Settings</Link>
      <span aria-hidden="true"> / </span>
      <Link to="/security/accounts">Accounts</Link>
    </nav>
  );
}
