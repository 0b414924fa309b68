import { z } from 'zod';
import { cursorSchema, idSchema, limitSchema } from '../shared/schemas.js';
import { adminProcedure, router } from '../trpc.js';
import { listAudit } from './queries.js';

const auditEntry = z.object({
  id: z.string(),
  actorId: z.string().nullable(),
  actorEmail: z.string().nullable(),
  action: z.string(),
  targetType: z.string(),
  targetId: z.string().nullable(),
  targetLabel: z.string().nullable(),
  changes: z.object({
    before: z.record(z.string(), z.unknown()).nullable().optional(),
    after: z.record(z.string(), z.unknown()).nullable().optional(),
  }),
  createdAt: z.date(),
});

export const auditRouter = router({
  list: adminProcedure
    .input(z.object({ userId: idSchema.optional(), cursor: cursorSchema, limit: limitSchema }).default({ limit: 25 }))
    .output(z.object({ items: z.array(auditEntry), nextCursor: z.string().nullable() }))
    .query(({ ctx, input }) => listAudit(ctx.db, ctx.actor.organizationId, input)),
});
