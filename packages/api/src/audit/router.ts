import { z } from 'zod';
import { onReader } from '../core/read-replica.js';
import { fieldError } from '../errors.js';
import { auditEntryOutput, pageOf } from '../shared/outputs.js';
import {
  auditActionSchema,
  cursorSchema,
  emailSchema,
  idSchema,
  limitSchema,
  searchQuerySchema,
} from '../shared/schemas.js';
import { orgReadProcedure, router } from '../trpc.js';
import { listAudit } from './queries.js';

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
  // Administrators and auditors: the organization's whole log. Not account administrators.
  list: orgReadProcedure
    .input(auditListInput)
    .output(pageOf(auditEntryOutput))
    .query(({ ctx, input }) => {
      if (input.from && input.to && input.from > input.to) {
        throw fieldError('INVALID_INPUT', ['to'], 'The end of the period comes before its start.');
      }
      return onReader(ctx, (db) => listAudit(db, ctx.actor.organizationId, input));
    }),
});
