import { z } from 'zod';
import { accountScopeOf, assertAccountInScope } from '../core/access.js';
import { onReader } from '../core/read-replica.js';
import { appError } from '../errors.js';
import { accountNameOutput, accountOutput, pageOf } from '../shared/outputs.js';
import {
  accountDescriptionSchema,
  accountNameSchema,
  createAccountSchema,
  cursorSchema,
  idSchema,
  limitSchema,
  searchQuerySchema,
} from '../shared/schemas.js';
import { accountReadProcedure, adminProcedure, router } from '../trpc.js';
import { accountNames, findAccount, listAccounts } from './queries.js';
import { createAccount, deleteAccount, updateAccount } from './service.js';

export const accountsRouter = router({
  // Administrators and auditors read every account; an account administrator, theirs.
  list: accountReadProcedure
    .input(z.object({ query: searchQuerySchema, cursor: cursorSchema, limit: limitSchema }).default({ limit: 25 }))
    .output(pageOf(accountOutput))
    .query(({ ctx, input }) =>
      onReader(ctx, (db) => listAccounts(db, ctx.actor.organizationId, input, accountScopeOf(ctx.actor))),
    ),

  /** The names of these accounts (of the caller's organization; other ids are left out), for showing ids. */
  names: accountReadProcedure
    .input(z.object({ ids: z.array(idSchema).min(1).max(100, { error: 'Ask for at most 100 accounts at once' }) }))
    .output(z.array(accountNameOutput))
    .query(({ ctx, input }) =>
      onReader(ctx, (db) =>
        accountNames(db, ctx.actor.organizationId, [...new Set(input.ids)], accountScopeOf(ctx.actor)),
      ),
    ),

  get: accountReadProcedure
    .input(z.object({ id: idSchema }))
    .output(accountOutput)
    .query(async ({ ctx, input }) => {
      assertAccountInScope(ctx.actor, input.id);
      const account = await findAccount(ctx.db, ctx.actor.organizationId, input.id);
      if (!account) throw appError('NOT_FOUND', 'No such account.');
      return account;
    }),

  create: adminProcedure
    .input(createAccountSchema)
    .output(accountOutput)
    .mutation(({ ctx, input }) => createAccount(ctx.db, ctx.actor, input, ctx.mail)),

  update: adminProcedure
    .input(
      z.object({ id: idSchema, name: accountNameSchema.optional(), description: accountDescriptionSchema.optional() }),
    )
    .output(accountOutput)
    .mutation(({ ctx, input }) => updateAccount(ctx.db, ctx.actor, input)),

  delete: adminProcedure
    .input(z.object({ id: idSchema }))
    .output(accountOutput)
    .mutation(({ ctx, input }) => deleteAccount(ctx.db, ctx.actor, input.id)),
});
