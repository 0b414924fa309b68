import { z } from 'zod';

/** A user as every procedure returns it: nothing more (never a hash). */
export const userOutput = z.object({
  id: z.string(),
  accountId: z.string(),
  email: z.string(),
  firstName: z.string(),
  lastName: z.string(),
  role: z.enum(['admin', 'user']),
  active: z.boolean(),
  createdAt: z.date(),
  updatedAt: z.date(),
  lastLoginAt: z.date().nullable(),
  version: z.number(),
  /** Set while the user is locked out after repeated failed sign-ins. */
  lockedUntil: z.date().nullable(),
  /** False for a user created without a password: they cannot sign in until one is set. */
  hasPassword: z.boolean(),
});
export type UserOutput = z.infer<typeof userOutput>;

export const accountOutput = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  isDefault: z.boolean(),
  userCount: z.number(),
  createdAt: z.date(),
  updatedAt: z.date(),
});
export type AccountOutput = z.infer<typeof accountOutput>;

/** A page of a keyset-paginated list. */
export const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

/** An API key as people see it: never its secret, nor the secret's hash. */
export const apiKeyOutput = z.object({
  id: z.string(),
  /** Null once its user is deleted. */
  userId: z.string().nullable(),
  name: z.string(),
  prefix: z.string(),
  status: z.enum(['active', 'expired', 'revoked']),
  createdAt: z.date(),
  lastUsedAt: z.date().nullable(),
  /** Every key expires. */
  expiresAt: z.date(),
  revokedAt: z.date().nullable(),
});
export type ApiKeyOutput = z.infer<typeof apiKeyOutput>;
