import type { QueryClient } from '@tanstack/react-query';
import {
  createRootRouteWithContext,
  createRoute,
  createRouter,
  lazyRouteComponent,
  Outlet,
  redirect,
} from '@tanstack/react-router';
import { AppLayout, HomeRedirect } from './components/app-layout';
import { NotFoundPage } from './components/not-found';
import { RequireAdmin, RequireOrgAdmin, RequireOrgReader } from './components/require-admin';
import {
  parseAccountSearch,
  parseAuditSearch,
  parseImportSearch,
  parseLoginSearch,
  parseQuerySearch,
  parseUsersSearch,
} from './lib/search';

// Code-based routes: one lazily loaded file per page, so the first page only
// downloads the shell. Each route declares its search params, parsed by hand.

const rootRoute = createRootRouteWithContext<{ queryClient: QueryClient }>()({
  component: Outlet,
  notFoundComponent: NotFoundPage,
});

const loginRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/login',
  validateSearch: parseLoginSearch,
  component: lazyRouteComponent(() => import('./routes/login'), 'LoginPage'),
});

/** The pages of mailed links and of Forgot password?: no session needed. */
const invitationRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/invitation',
  component: lazyRouteComponent(() => import('./routes/mailed-links'), 'InvitationPage'),
});
const resetPasswordRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/reset-password',
  component: lazyRouteComponent(() => import('./routes/mailed-links'), 'ResetPasswordPage'),
});
const forgotPasswordRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/forgot-password',
  component: lazyRouteComponent(() => import('./routes/mailed-links'), 'ForgotPasswordPage'),
});

/** Everything behind sign-in: the header, and the session guard. */
const appRoute = createRoute({ getParentRoute: () => rootRoute, id: 'app', component: AppLayout });

/** Pages for administrators only; a plain user sees why they cannot, and their profile. */
const adminRoute = createRoute({ getParentRoute: () => appRoute, id: 'admin', component: RequireAdmin });

/** The whole organization's pages: administrators and auditors. */
const orgReaderRoute = createRoute({ getParentRoute: () => adminRoute, id: 'orgReader', component: RequireOrgReader });

/** Pages that only make changes to the organization: administrators. */
const orgAdminRoute = createRoute({ getParentRoute: () => adminRoute, id: 'orgAdmin', component: RequireOrgAdmin });

/** `/` is the first page that fits the person: Security for administrators, their profile otherwise. */
const indexRoute = createRoute({ getParentRoute: () => appRoute, path: '/', component: HomeRedirect });

const securityRoute = createRoute({
  getParentRoute: () => orgReaderRoute,
  path: '/security',
  component: lazyRouteComponent(() => import('./routes/security'), 'SecurityPage'),
});

const securityIndexRoute = createRoute({
  getParentRoute: () => securityRoute,
  path: '/',
  beforeLoad: () => {
    throw redirect({ to: '/security/accounts', replace: true });
  },
});

const securityAccountsRoute = createRoute({
  getParentRoute: () => securityRoute,
  path: '/accounts',
  validateSearch: parseQuerySearch,
  component: lazyRouteComponent(() => import('./routes/security-accounts'), 'AccountsTab'),
});

const securityAdminsRoute = createRoute({
  getParentRoute: () => securityRoute,
  path: '/administrators',
  component: lazyRouteComponent(() => import('./routes/security-admins'), 'AdministratorsTab'),
});

const securityProvisioningRoute = createRoute({
  getParentRoute: () => securityRoute,
  path: '/provisioning',
  component: lazyRouteComponent(() => import('./routes/security-provisioning'), 'ProvisioningTab'),
});

const accountNewRoute = createRoute({
  getParentRoute: () => orgAdminRoute,
  path: '/accounts/new',
  component: lazyRouteComponent(() => import('./routes/account-new'), 'NewAccountPage'),
});

const accountRoute = createRoute({
  getParentRoute: () => adminRoute,
  path: '/accounts/$accountId',
  validateSearch: parseAccountSearch,
  component: lazyRouteComponent(() => import('./routes/account'), 'AccountPage'),
});

const accountImportRoute = createRoute({
  getParentRoute: () => adminRoute,
  path: '/accounts/$accountId/import',
  validateSearch: parseImportSearch,
  component: lazyRouteComponent(() => import('./routes/account-import'), 'AccountImportPage'),
});

const usersRoute = createRoute({
  getParentRoute: () => adminRoute,
  path: '/users',
  validateSearch: parseUsersSearch,
  component: lazyRouteComponent(() => import('./routes/users'), 'UsersPage'),
});

const userRoute = createRoute({
  getParentRoute: () => adminRoute,
  path: '/users/$userId',
  component: lazyRouteComponent(() => import('./routes/user'), 'UserPage'),
});

const bulkActionsRoute = createRoute({
  getParentRoute: () => adminRoute,
  path: '/bulk-actions',
  component: lazyRouteComponent(() => import('./routes/bulk-actions'), 'BulkActionsPage'),
});

const bulkOperationRoute = createRoute({
  getParentRoute: () => adminRoute,
  path: '/bulk-actions/$operationId',
  component: lazyRouteComponent(() => import('./routes/bulk-actions'), 'BulkOperationPage'),
});

const auditRoute = createRoute({
  getParentRoute: () => orgReaderRoute,
  path: '/audit',
  validateSearch: parseAuditSearch,
  component: lazyRouteComponent(() => import('./routes/audit'), 'AuditPage'),
});

const profileRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/profile',
  component: lazyRouteComponent(() => import('./routes/profile'), 'ProfilePage'),
});

const routeTree = rootRoute.addChildren([
  loginRoute,
  invitationRoute,
  resetPasswordRoute,
  forgotPasswordRoute,
  appRoute.addChildren([
    indexRoute,
    profileRoute,
    adminRoute.addChildren([
      orgReaderRoute.addChildren([
        securityRoute.addChildren([
          securityIndexRoute,
          securityAccountsRoute,
          securityAdminsRoute,
          securityProvisioningRoute,
        ]),
        auditRoute,
      ]),
      orgAdminRoute.addChildren([accountNewRoute]),
      accountRoute,
      accountImportRoute,
      usersRoute,
      userRoute,
      bulkActionsRoute,
      bulkOperationRoute,
    ]),
  ]),
]);

export function createAppRouter(queryClient: QueryClient) {
  return createRouter({
    routeTree,
    context: { queryClient },
    defaultPreload: 'intent',
    // Lists refetch through React Query; the router need not cache loader data.
    defaultPreloadStaleTime: 0,
    scrollRestoration: true,
  });
}

declare module '@tanstack/react-router' {
  interface Register {
    router: ReturnType<typeof createAppRouter>;
  }
}
