import { describe, expect, it } from 'vitest';
import { homeOf, permissionsOf } from './permissions';

const mine = '00000000-0000-4000-8000-00000000000a';
const theirs = '00000000-0000-4000-8000-00000000000b';
const person = (id: string, role: 'admin' | 'account_admin' | 'auditor' | 'user', accountId = mine) => ({
  id,
  role,
  accountId,
});

describe('permissionsOf', () => {
  it('gives an account administrator the plain users of their account, and themselves', () => {
    const me = person('me', 'account_admin');
    const can = permissionsOf(me);
    expect(can.managesUser(person('u', 'user'))).toBe(true);
    expect(can.managesUser(me)).toBe(true);
    expect(can.managesUser(person('u', 'user', theirs))).toBe(false);
    for (const role of ['admin', 'account_admin', 'auditor'] as const) {
      expect(can.managesUser(person('x', role))).toBe(false);
    }
    expect(can.managesAccount(mine)).toBe(true);
    expect(can.managesAccount(theirs)).toBe(false);
    expect(can.readsOrganization).toBe(false);
    expect(homeOf(me)).toEqual({ to: '/accounts/$accountId', params: { accountId: mine } });
  });

  it('gives an auditor every read and no change', () => {
    const can = permissionsOf(person('me', 'auditor'));
    expect(can.readsOrganization).toBe(true);
    expect(can.isOrgAdmin).toBe(false);
    expect(can.managesUser(person('u', 'user'))).toBe(false);
    expect(can.managesAccount(mine)).toBe(false);
  });

  it('gives an administrator everything, and a plain user no administration', () => {
    expect(permissionsOf(person('me', 'admin')).managesUser(person('u', 'auditor', theirs))).toBe(true);
    expect(permissionsOf(person('me', 'user')).administers).toBe(false);
    expect(homeOf(person('me', 'user'))).toEqual({ to: '/profile' });
  });
});
