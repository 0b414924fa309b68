import { useQueryClient } from '@tanstack/react-query';
import { Link, Navigate, Outlet, useLocation, useNavigate } from '@tanstack/react-router';
import { useEffect, useRef } from 'react';
import { errorMessage } from '../lib/errors';
import { homeOf, permissionsOf } from '../lib/permissions';
import { markSignedOut } from '../lib/session';
import { trpc } from '../trpc';
import { MeContext, useMe } from './me';
import { Spinner } from './states';

/**
 * The frame of every signed-in page. It is also the session guard: when
 * `auth.me` says nobody is signed in (never was, or the session just ended), it
 * sends the person to sign in and remembers where they were.
 */
export function AppLayout() {
  const me = trpc.auth.me.useQuery(undefined, { staleTime: 30_000 });
  const location = useLocation();
  const navigate = useNavigate();
  const wasSignedIn = useRef(false);
  const signingOut = useRef(false);
  const leaving = useRef(false);
  const signedOut = me.isSuccess && me.data === null;

  useEffect(() => {
    // Navigate once: while the sign-in page loads, this layout may render again.
    if (!signedOut || leaving.current) return;
    leaving.current = true;
    const search = signingOut.current
      ? { reason: 'signed-out' as const }
      : { next: location.href, reason: wasSignedIn.current ? ('expired' as const) : undefined };
    void navigate({ to: '/login', search, replace: true });
  }, [signedOut, location.href, navigate]);

  // After moving to another page, keyboard and screen-reader users start at its content,
  // not wherever focus was left on the page before.
  const previousPath = useRef(location.pathname);
  useEffect(() => {
    if (previousPath.current === location.pathname) return;
    previousPath.current = location.pathname;
    // Switching tabs keeps focus on the tab, as a tab list should.
    if (document.activeElement?.closest('[role="tablist"]')) return;
    document.getElementById('main')?.focus({ preventScroll: true });
  }, [location.pathname]);

  if (me.isPending || signedOut) return <Spinner label="Loading Roster…" page />;
  if (me.isError) {
    return (
      <main className="page page-narrow" id="main">
        <div className="alert alert-error" role="alert">
          <p>{errorMessage(me.error)}</p>
          <button type="button" className="btn" onClick={() => void me.refetch()}>
            Try again
          </button>
        </div>
      </main>
    );
  }
  if (!me.data) return null;
  wasSignedIn.current = true;

  return (
    <MeContext.Provider value={me.data}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Header
        onSignedOut={() => {
          signingOut.current = true;
        }}
      />
      <main className="page" id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </MeContext.Provider>
  );
}

function Header({ onSignedOut }: { onSignedOut: () => void }) {
  const me = useMe();
  const queryClient = useQueryClient();
  const logout = trpc.auth.logout.useMutation({
    onSettled: () => {
      onSignedOut();
      markSignedOut(queryClient);
    },
  });
  const { pathname } = useLocation();
  const can = permissionsOf(me);
  // Account pages live under Security Settings, so "Security" stays current there.
  const inSecurity = /^\/(security|accounts)(\/|$)/.test(pathname);
  return (
    <header className="app-header">
      <div className="app-header-inner">
        <Link to="/" className="brand">
          <span className="brand-mark" aria-hidden="true">
            R
          </span>
          Roster
        </Link>
        {can.administers && (
          <nav aria-label="Main" className="main-nav">
            {can.readsOrganization ? (
              <Link
                to="/security/accounts"
                className={inSecurity ? 'nav-link active' : 'nav-link'}
                aria-current={inSecurity ? 'page' : undefined}
              >
                Security
              </Link>
            ) : (
              <Link
                to="/accounts/$accountId"
                params={{ accountId: me.accountId }}
                className="nav-link"
                activeProps={{ className: 'nav-link active', 'aria-current': 'page' }}
              >
                My account
              </Link>
            )}
            <Link
              to="/users"
              className="nav-link"
              activeProps={{ className: 'nav-link active', 'aria-current': 'page' }}
            >
              Users
            </Link>
            {can.readsOrganization && (
              <Link
                to="/audit"
                className="nav-link"
                activeProps={{ className: 'nav-link active', 'aria-current': 'page' }}
              >
                Audit log
              </Link>
            )}
          </nav>
        )}
        <div className="header-user">
          <Link to="/profile" className="header-email" title="Your profile">
            {me.email}
          </Link>
          <button type="button" className="btn btn-quiet" onClick={() => logout.mutate()} disabled={logout.isPending}>
            Sign out
          </button>
        </div>
      </div>
    </header>
  );
}

/**
 * `/`: Security Settings for administrators and auditors, their account's page
 * for an account administrator, the profile for everyone else.
 */
export function HomeRedirect() {
  const me = useMe();
  return <Navigate {...homeOf(me)} replace />;
}
