import { createHash, randomBytes, randomInt } from 'node:crypto';

// The secrets Roster hands out (session tokens, API keys, SCIM connection
// tokens) are 256 random bits, stored only as their sha256. A random secret
// needs no slow hash: sha256 cannot be reversed and guessing is hopeless, so a
// lookup stays one indexed equality.

/** What is stored (and looked up) instead of a secret. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

/** 256 random bits in base64url: a session token, or the secret part of a key. */
export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

const prefixAlphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A new prefixed secret, `<kind>_<8 characters>_<256 random bits>`: its prefix
 * (stored, shown later to tell secrets apart, not secret), the whole secret
 * (returned once), and the hash that is stored instead of it.
 */
export function generatePrefixedSecret(kind: 'rk' | 'rsc'): { prefix: string; secret: string; hash: string } {
  let suffix = '';
  for (let i = 0; i < 8; i += 1) suffix += prefixAlphabet[randomInt(prefixAlphabet.length)];
  const prefix = `${kind}_${suffix}`;
  const secret = `${prefix}_${randomSecret()}`;
  return { prefix, secret, hash: hashSecret(secret) };
}
