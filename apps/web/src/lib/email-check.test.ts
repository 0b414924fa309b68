import { describe, expect, it } from 'vitest';
import { emailProblem } from './email-check';

describe('emailProblem', () => {
  it('asks for an address, a short enough one, and one that looks like an address', () => {
    expect(emailProblem('  ')).toBe('Enter an email address.');
    expect(emailProblem(`${'a'.repeat(250)}@b.co`)).toBe('An email address has at most 254 characters.');
    expect(emailProblem('ada@example')).toBe('Enter a valid email address, like name@example.com.');
    expect(emailProblem(' Ada@Example.com ')).toBeUndefined();
  });
});
