import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

// The keys sign-ins are limited under: a client address's network, and an email's hash.

/** The eight 16-bit groups of a valid IPv6 address. */
function ipv6Groups(address: string): number[] {
  // A trailing dotted quad (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) is two groups written another way.
  const text = address.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_, a, b, c, d) =>
    [(Number(a) << 8) | Number(b), (Number(c) << 8) | Number(d)].map((g) => g.toString(16)).join(':'),
  );
  const [head = '', tail = ''] = text.split('::');
  const groups = (part: string) => (part ? part.split(':').map((g) => Number.parseInt(g, 16)) : []);
  const left = groups(head);
  const right = groups(tail);
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/**
 * The key a client address is limited under: an IPv4 address as it is (also when
 * written IPv4-mapped), an IPv6 address by its /64 network, since one host
 * commonly holds a whole /64. Null when the address is unknown: then there is
 * no per-address limit (the per-user lockout still holds).
 */
export function clientKey(address: string | null | undefined): string | null {
  if (!address) return null;
  const plain = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(plain);
  if (mapped?.[1]) return mapped[1];
  if (isIPv4(plain)) return plain;
  if (isIPv6(plain)) {
    const groups = ipv6Groups(plain.toLowerCase());
    return `${groups
      .slice(0, 4)
      .map((g) => g.toString(16))
      .join(':')}::/64`;
  }
  return plain.slice(0, 100);
}

/** The key an email is limited under: a hash of its lower-case form, so the table holds no addresses. */
export function emailKey(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase()).digest('base64url');
}
