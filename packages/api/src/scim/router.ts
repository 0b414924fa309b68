import { z } from 'zod';
import { accountNameSchema, idSchema } from '../shared/schemas.js';
import { adminProcedure, router } from '../trpc.js';
import { connectionOfUserFor, createConnection, listConnectionsOf, revokeConnection } from './connections-service.js';

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

/**
 * Provisioning connections: an identity provider's bearer token for the SCIM
 * endpoint (/scim/v2), bound to one account. Administrators only.
 */
export const scimRouter = router({
  connections: router({
    create: adminProcedure
      .input(z.object({ accountId: idSchema, name: accountNameSchema }))
      .output(z.object({ connection: scimConnectionOutput, token: z.string() }))
      .mutation(({ ctx, input }) => createConnection(ctx.db, ctx.actor, input)),

    list: adminProcedure
      .input(z.object({}).optional())
      .output(z.array(scimConnectionOutput))
      .query(({ ctx }) => listConnectionsOf(ctx.db, ctx.actor)),

    revoke: adminProcedure
      .input(z.object({ id: idSchema }))
      .output(scimConnectionOutput)
      .mutation(({ ctx, input }) => revokeConnection(ctx.db, ctx.actor, input.id)),

    /** The connection that last created or changed a user (null: none did). */
    get: adminProcedure
      .input(z.object({ userId: idSchema }))
      .output(
        z
          .object({ id: z.string(), name: z.string(), prefix: z.string(), status: z.enum(['active', 'revoked']) })
          .nullable(),
      )
      .query(({ ctx, input }) => connectionOfUserFor(ctx.db, ctx.actor, input.userId)),
  }),
});
