import { z } from 'zod';
import { apiKeyOutput, createdApiKeyOutput, pageOf } from '../shared/outputs.js';
import { createApiKeySchema, cursorSchema, idSchema, limitSchema } from '../shared/schemas.js';
import { authedProcedure, router } from '../trpc.js';
import { createApiKey, listKeysOf, revokeApiKey } from './service.js';

/**
 * API keys let scripts call the API as their user (`Authorization: Bearer <key>`).
 * Everyone signed in manages their own; administrators also see and revoke those
 * of every user of their organization.
 */
export const apiKeysRouter = router({
  create: authedProcedure
    .input(createApiKeySchema)
    .output(createdApiKeyOutput)
    .mutation(({ ctx, input }) => createApiKey(ctx.db, ctx.actor, input, ctx.apiKeys)),

  list: authedProcedure
    .input(
      z
        .object({
          /** Whose keys; yourself when absent. */
          userId: idSchema.optional(),
          includeRevoked: z.boolean().default(false),
          cursor: cursorSchema,
          limit: limitSchema,
        })
        .default({ includeRevoked: false, limit: 25 }),
    )
    .output(pageOf(apiKeyOutput))
    .query(({ ctx, input }) => listKeysOf(ctx.db, ctx.actor, input)),

  revoke: authedProcedure
    .input(z.object({ id: idSchema }))
    .output(apiKeyOutput)
    .mutation(({ ctx, input }) => revokeApiKey(ctx.db, ctx.actor, input.id)),
});
