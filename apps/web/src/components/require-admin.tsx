import { lazyRouteComponent, Outlet } from '@tanstack/react-router';
import { useMe } from './me';

const NotAdminPage = lazyRouteComponent(() => import('../routes/profile'), 'NotAdminPage');

/**
 * Administrator pages render only for administrators: a plain user gets an
 * explanation and their own profile, and no admin query is ever sent for them.
 * (The server refuses them anyway.)
 */
export function RequireAdmin() {
  const me = useMe();
  return me.role === 'admin' ? <Outlet /> : <NotAdminPage />;
}
