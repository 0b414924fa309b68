import { useMemo } from 'react';
import { useMe } from '../components/me';
import { PagedList } from '../components/paged-list';
import { UsersTable } from '../components/users-table';
import { useAccountNames } from '../lib/account-names';
import { usePageSize } from '../lib/page-size';
import { trpc, type User } from '../trpc';

type RoleWithRights = Exclude<User['role'], 'user'>;

const sections: { role: RoleWithRights; title: string; noun: [string, string]; intro: string }[] = [
  {
    role: 'admin',
    title: 'Administrators',
    noun: ['administrator', 'administrators'],
    intro:
      'Administrators manage every account and user. They belong to the default account. The organization always keeps at least one active administrator.',
  },
  {
    role: 'account_admin',
    title: 'Account administrators',
    noun: ['account administrator', 'account administrators'],
    intro:
      'Account administrators manage the plain users of their own account: add, edit, deactivate, delete, import and export them. They give no roles and see no other account.',
  },
  {
    role: 'auditor',
    title: 'Auditors',
    noun: ['auditor', 'auditors'],
    intro:
      'Auditors read everything an administrator reads (accounts, users, the audit log, sessions, keys) and change nothing.',
  },
];

/**
 * Security Settings > Administrators: who has rights in the organization, by
 * role. Administrators change a user's role from the user's actions (⋯ > Change role).
 */
export function AdministratorsTab() {
  return (
    <>
      <p className="muted section-intro">
        Give or take a role from a user's actions (<span aria-hidden="true">⋯</span> More actions, then Change role).
        Only administrators give roles, and every change is in the audit log.
      </p>
      {sections.map((section) => (
        <RoleSection key={section.role} {...section} />
      ))}
    </>
  );
}

function RoleSection({ role, title, noun, intro }: (typeof sections)[number]) {
  const me = useMe();
  const pageSize = usePageSize();
  const users = trpc.users.search.useInfiniteQuery(
    { role, limit: pageSize },
    { getNextPageParam: (page) => page.nextCursor ?? undefined, placeholderData: (previous) => previous },
  );
  // The Account column: account administrators and auditors live in any account.
  const accountNames = useAccountNames(
    useMemo(() => users.data?.pages.map((page) => page.items.map((user) => user.accountId)) ?? [], [users.data]),
  );
  const headingId = `${role}-heading`;
  return (
    <section aria-labelledby={headingId} className="section">
      <div className="toolbar">
        <h2 id={headingId} className="section-title">
          {title}
        </h2>
      </div>
      <p className="muted section-intro">{intro}</p>
      <PagedList
        query={users}
        loading={`Loading ${noun[1]}…`}
        noun={noun}
        pageSize={pageSize}
        empty={{ title: `No ${noun[1]}.` }}
      >
        {(items, footer) => (
          <UsersTable
            caption={title}
            users={items}
            defaultAccountId={me.accountId}
            footer={footer}
            accountNames={accountNames}
          />
        )}
      </PagedList>
    </section>
  );
}
