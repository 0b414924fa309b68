import { lazyRouteComponent, Outlet } from '@tanstack/react-router';
import { permissionsOf } from '../lib/permissions';
import { useMe } from './me';

const NotAdminPage = lazyRouteComponent(() => import('../routes/profile'), 'NotAdminPage');

/**
 * Administration pages render only for those who administer (administrators,
 * auditors, account administrators): a plain user gets an explanation and their
 * own profile, and no admin query is ever sent for them. (The server refuses them anyway.)
 */
export function RequireAdmin() {
  const me = useMe();
  return permissionsOf(me).administers ? <Outlet /> : <NotAdminPage />;
}

/** Pages of the whole organization (Security Settings, the audit log): administrators and auditors. */
export function RequireOrgReader() {
  const me = useMe();
  return permissionsOf(me).readsOrganization ? <Outlet /> : <NotAdminPage />;
}

/** Pages that only change the organization (a new account): administrators. */
export function RequireOrgAdmin() {
  const me = useMe();
  return permissionsOf(me).isOrgAdmin ? <Outlet /> : <NotAdminPage />;
}
