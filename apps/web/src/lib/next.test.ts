import { describe, expect, it } from 'vitest';
import { safeNext } from './next';
import { parseLoginSearch, parseUsersSearch, shortSearchHint } from './search';

describe('safeNext', () => {
  it('keeps a path on this site, with its query', () => {
    expect(safeNext('/accounts/42?q=ada')).toBe('/accounts/42?q=ada');
  });

  it('refuses anything that could leave the site or loop back to sign-in', () => {
    for (const next of ['https://evil.example', '//evil.example/x', '/\\evil.example', 'users', '', '/login?next=/x']) {
      expect(safeNext(next)).toBe('/');
    }
    expect(safeNext(undefined)).toBe('/');
    expect(safeNext(42)).toBe('/');
  });
});

describe('search params', () => {
  it('keeps known values and drops the rest', () => {
    expect(parseLoginSearch({ next: '/users', reason: 'expired' })).toEqual({ next: '/users', reason: 'expired' });
    expect(parseLoginSearch({ reason: 'whatever' })).toEqual({ next: undefined, reason: undefined });
    expect(parseUsersSearch({ q: ' ada ', active: 'inactive', role: 'root', account: 7 })).toEqual({
      q: ' ada ',
      active: 'inactive',
      role: undefined,
      account: undefined,
    });
    expect(parseUsersSearch({ locked: 'locked' }).locked).toBe('locked');
    expect(parseUsersSearch({ locked: 'yes' }).locked).toBeUndefined();
  });
});

describe('shortSearchHint', () => {
  it('explains one- and two-letter searches, and nothing else', () => {
    expect(shortSearchHint('z')).toContain('start of a first name, last name or email');
    expect(shortSearchHint(' zo ')).toContain('three or more');
    expect(shortSearchHint('Zë')).not.toBeNull();
    expect(shortSearchHint('zoe')).toBeNull();
    expect(shortSearchHint('')).toBeNull();
    expect(shortSearchHint(undefined)).toBeNull();
  });
});
