import { z } from 'zod';
import { fieldError } from '../errors.js';
import {
  auditActionSchema,
  cursorSchema,
  emailSchema,
  idSchema,
  limitSchema,
  searchQuerySchema,
} from '../shared/schemas.js';
import { adminProcedure, router } from '../trpc.js';
import { listAudit } from './queries.js';

const auditEntry = z.object({
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

const dateSchema = z.date({ error: 'A date and time' });

export const auditListInput = z
  .object({
    userId: idSchema.optional(),
    email: emailSchema.optional(),
    query: searchQuerySchema,
    action: auditActionSchema.optional(),
    accountId: idSchema.optional(),
    from: dateSchema.optional(),
    to: dateSchema.optional(),
    cursor: cursorSchema,
    limit: limitSchema,
  })
  .default({ limit: 25 });

export const auditRouter = router({
  list: adminProcedure
    .input(auditListInput)
    .output(z.object({ items: z.array(auditEntry), nextCursor: z.string().nullable() }))
    .query(({ ctx, input }) => {
      if (input.from && input.to && input.from > input.to) {
        throw fieldError('INVALID_INPUT', ['to'], 'The end of the period comes before its start.');
      }
      return listAudit(ctx.db, ctx.actor.organizationId, input);
    }),
});
