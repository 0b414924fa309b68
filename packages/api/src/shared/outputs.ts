import { z } from 'zod';
import { auditActionSchema, bulkSkipReasons, importVerdicts, roles, userSearchFilterSchema } from './schemas.js';

// Every procedure's output schema, and only here: routers name one of these in
// `.output()` (an array or page of one, or `.nullable()`), never a schema of
// their own. Explicit fields: whatever a query reads beyond them (a password
// hash, a token's hash) never reaches an answer.

/** A user as every procedure returns it: nothing more (never a hash). */
export const userOutput = z.object({
  id: z.string(),
  accountId: z.string(),
  email: z.string(),
  firstName: z.string(),
  lastName: z.string(),
  role: z.enum(roles),
  active: z.boolean(),
  createdAt: z.date(),
  updatedAt: z.date(),
  lastLoginAt: z.date().nullable(),
  version: z.number(),
  /** Set while the user is locked out after repeated failed sign-ins. */
  lockedUntil: z.date().nullable(),
  /** False for a user created without a password: they cannot sign in until one is set. */
  hasPassword: z.boolean(),
  /** Invited by email and not yet accepted: the console shows "Invited" (the link may have expired: resend it). */
  invited: z.boolean(),
  /** When the open invitation's link stops working; null when not invited. */
  invitationExpiresAt: z.date().nullable(),
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

/** An account's name by id, for showing ids. */
export const accountNameOutput = z.object({ id: z.string(), name: z.string() });

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

/** A new API key and its secret, returned this once. */
export const createdApiKeyOutput = z.object({ apiKey: apiKeyOutput, secret: z.string() });

/** The user a sign-in signed in (the session itself goes in the cookie). */
export const signedInOutput = z.object({ user: userOutput });

/** A mutation that has nothing to tell but that it was done. */
export const okOutput = z.object({ ok: z.literal(true) });

/** The one answer to a password reset request, whether or not the email is anyone's. */
export const resetRequestOutput = z.object({ ok: z.literal(true), message: z.string() });

/** What an invitation link's page shows before the person chooses a password. */
export const invitationOutput = z.object({ organization: z.string(), email: z.string(), expiresAt: z.date() });

/** A live session as administrators see it: never its token. */
export const sessionOutput = z.object({
  id: z.string(),
  createdAt: z.date(),
  lastSeenAt: z.date(),
  /** The session ends then at the latest (absolute lifetime); idle time may end it sooner. */
  expiresAt: z.date(),
  clientAddress: z.string().nullable(),
  userAgent: z.string().nullable(),
  /** The session the caller is using right now. */
  current: z.boolean(),
});
export type SessionOutput = z.infer<typeof sessionOutput>;

/** What ending a user's sessions ended. */
export const endedSessionsOutput = z.object({ ended: z.number(), apiKeysRevoked: z.number() });

/** What deactivating a user would end (users.deactivationPreview). */
export const deactivationPreviewOutput = z.object({ sessions: z.number(), apiKeys: z.number() });

/** A row of the audit log as administrators see it. */
export const auditEntryOutput = z.object({
  id: z.string(),
  /** Kept after the actor is deleted; null for the system or an unauthenticated request. */
  actorId: z.string().nullable(),
  /** The actor's email and name as they were then. */
  actorEmail: z.string().nullable(),
  actorName: z.string().nullable(),
  /** Whether the actor is still a user (the console links to them only then). */
  actorExists: z.boolean(),
  action: auditActionSchema,
  targetType: z.string(),
  targetId: z.string().nullable(),
  targetLabel: z.string().nullable(),
  /** A target user's email and name as they were then. */
  targetEmail: z.string().nullable(),
  targetName: z.string().nullable(),
  /** Whether the target is a user who still exists. */
  targetExists: z.boolean(),
  /** The account the row is about (the target user's account then). */
  accountId: z.string().nullable(),
  changes: z.object({
    before: z.record(z.string(), z.unknown()).nullable().optional(),
    after: z.record(z.string(), z.unknown()).nullable().optional(),
  }),
  createdAt: z.date(),
});

/** A SCIM connection as administrators see it: never its token, nor the token's hash. */
export const scimConnectionOutput = z.object({
  id: z.string(),
  accountId: z.string(),
  accountName: z.string(),
  name: z.string(),
  prefix: z.string(),
  status: z.enum(['active', 'revoked']),
  createdBy: z.string().nullable(),
  createdAt: z.date(),
  lastUsedAt: z.date().nullable(),
  revokedAt: z.date().nullable(),
});

/** A new SCIM connection and its token, returned this once. */
export const createdScimConnectionOutput = z.object({ connection: scimConnectionOutput, token: z.string() });

/** The connection that last created or changed a user, as the user's details show it. */
export const scimConnectionSummaryOutput = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  status: z.enum(['active', 'revoked']),
});

/** A CSV import's verdict for a row. */
export const importVerdictSchema = z.enum(importVerdicts, { error: 'A verdict is error, create, update or unchanged' });

/** What a CSV import's preview found. */
const importSummaryOutput = z.object({
  total: z.number(),
  create: z.number(),
  update: z.number(),
  unchanged: z.number(),
  error: z.number(),
  columns: z.array(z.string()),
  ignoredColumns: z.array(z.string()),
  unknownColumns: z.array(z.string()),
  notes: z.array(z.string()),
});

/** What applying a CSV import changed. */
export const importResultOutput = z.object({
  created: z.number(),
  updated: z.number(),
  unchanged: z.number(),
  skipped: z.number(),
  deactivated: z.number(),
  reactivated: z.number(),
  roleChanged: z.number(),
  sessionsEnded: z.number(),
  apiKeysRevoked: z.number(),
});

/** A CSV import: its preview's summary, and once applied its result. */
export const importOutput = z.object({
  id: z.string(),
  accountId: z.string(),
  fileName: z.string().nullable(),
  status: z.enum(['previewed', 'applied']),
  summary: importSummaryOutput,
  createdAt: z.date(),
  expiresAt: z.date(),
  appliedAt: z.date().nullable(),
  result: importResultOutput.nullable(),
  /** While an apply runs on this server: how many of its changes are done. */
  progress: z.object({ done: z.number(), total: z.number() }).nullable(),
});

const importChangeValue = z.union([z.string(), z.boolean(), z.null()]);
/** One row of a CSV import's preview. */
export const importRowOutput = z.object({
  line: z.number(),
  verdict: importVerdictSchema,
  email: z.string(),
  userId: z.string().nullable(),
  changes: z
    .object({ before: z.record(z.string(), importChangeValue), after: z.record(z.string(), importChangeValue) })
    .nullable(),
  /** What a new user gets (create). */
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  role: z.enum(roles).nullable(),
  active: z.boolean().nullable(),
  error: z.string().nullable(),
});

/** Why a bulk action leaves a user as they are. */
const bulkSkipReasonSchema = z.enum(bulkSkipReasons);

/** A bulk action's preview. */
export const bulkPreviewOutput = z.object({
  action: z.enum(['deactivate', 'reactivate', 'delete', 'move', 'end_sessions', 'unlock']),
  toAccount: z.object({ id: z.string(), name: z.string() }).nullable(),
  /** Users the selection finds (ids of nobody are counted in `skipped` as not_found). */
  total: z.number(),
  /** Users the action would change. */
  affected: z.number(),
  skipped: z.array(z.object({ reason: bulkSkipReasonSchema, count: z.number(), message: z.string() })),
  /** What changing them ends: live sessions, and working API keys (deactivate, delete). */
  ends: z.object({ sessions: z.number(), apiKeys: z.number() }),
  /** Pass it back with dryRun: false to apply; refused if the selection has changed meanwhile. */
  previewToken: z.string(),
});
export type BulkPreview = z.infer<typeof bulkPreviewOutput>;

/** A bulk action being applied, or applied. */
export const bulkOperationOutput = z.object({
  id: z.string(),
  action: bulkPreviewOutput.shape.action,
  status: z.enum(['queued', 'running', 'done', 'failed']),
  selection: z.union([
    z.object({ kind: z.literal('ids'), count: z.number() }),
    z.object({ kind: z.literal('search'), search: userSearchFilterSchema }),
  ]),
  toAccountId: z.string().nullable(),
  actorId: z.string().nullable(),
  actorEmail: z.string().nullable(),
  total: z.number(),
  done: z.number(),
  skipped: z.number(),
  /** done + skipped: what the progress bar shows of `total`. */
  processed: z.number(),
  error: z.string().nullable(),
  createdAt: z.date(),
  startedAt: z.date().nullable(),
  finishedAt: z.date().nullable(),
});
export type BulkOperationOutput = z.infer<typeof bulkOperationOutput>;

/** What a bulk action did to one user. */
export const bulkResultOutput = z.object({
  userId: z.string(),
  /** The user's email when processed; null for an id that found nobody. */
  email: z.string().nullable(),
  outcome: z.enum(['pending', 'done', 'skipped']),
  reason: bulkSkipReasonSchema.nullable(),
  message: z.string().nullable(),
});

/** users.bulk: a preview (dryRun), or the operation that applies it. */
export const bulkStartedOutput = z.object({
  preview: bulkPreviewOutput.nullable(),
  operation: bulkOperationOutput.nullable(),
});

/** users.bulkStatus: progress, skips by reason, and a page of per-user results. */
export const bulkStatusOutput = z.object({
  operation: bulkOperationOutput,
  skippedByReason: z.array(z.object({ reason: z.string(), count: z.number(), message: z.string() })),
  results: pageOf(bulkResultOutput),
});
