import { z } from 'zod';
import { createdScimConnectionOutput, scimConnectionOutput, scimConnectionSummaryOutput } from '../shared/outputs.js';
import { accountNameSchema, idSchema } from '../shared/schemas.js';
import { adminProcedure, orgReadProcedure, router } from '../trpc.js';
import { connectionOfUserFor, createConnection, listConnectionsOf, revokeConnection } from './connections-service.js';

/**
 * Provisioning connections: an identity provider's bearer token for the SCIM
 * endpoint (/scim/v2), bound to one account. Administrators manage them;
 * auditors read them; account administrators have nothing to do with them.
 */
export const scimRouter = router({
  connections: router({
    create: adminProcedure
      .input(z.object({ accountId: idSchema, name: accountNameSchema }))
      .output(createdScimConnectionOutput)
      .mutation(({ ctx, input }) => createConnection(ctx.db, ctx.actor, input)),

    list: orgReadProcedure
      .input(z.object({}).optional())
      .output(z.array(scimConnectionOutput))
      .query(({ ctx }) => listConnectionsOf(ctx.db, ctx.actor)),

    revoke: adminProcedure
      .input(z.object({ id: idSchema }))
      .output(scimConnectionOutput)
      .mutation(({ ctx, input }) => revokeConnection(ctx.db, ctx.actor, input.id)),

    /** The connection that last created or changed a user (null: none did). */
    get: orgReadProcedure
      .input(z.object({ userId: idSchema }))
      .output(scimConnectionSummaryOutput.nullable())
      .query(({ ctx, input }) => connectionOfUserFor(ctx.db, ctx.actor, input.userId)),
  }),
});
