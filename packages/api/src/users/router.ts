import { z } from 'zod';
import { bulkList, bulkStatus, previewBulk, startBulk } from '../bulk/service.js';
import { assertUserInScope, scopedFilter } from '../core/access.js';
import { onReader } from '../core/read-replica.js';
import { appError } from '../errors.js';
import { cancelInvitation, resendInvitation } from '../links/invitations.js';
import {
  bulkOperationOutput,
  bulkStartedOutput,
  bulkStatusOutput,
  deactivationPreviewOutput,
  endedSessionsOutput,
  pageOf,
  sessionOutput,
  userOutput,
} from '../shared/outputs.js';
import {
  bulkInputSchema,
  createUserSchema,
  cursorSchema,
  emailSchema,
  idSchema,
  limitSchema,
  passwordSchema,
  roleSchema,
  updateUserSchema,
  userFilterSchema,
  userSortSchema,
} from '../shared/schemas.js';
import { accountManageProcedure, accountReadProcedure, adminProcedure, router } from '../trpc.js';
import { findUserByEmail, findUserById, searchUsers } from './queries.js';
import { endUserSessions, listSessions, unlockUser } from './security.js';
import {
  assertAccountInOrganization,
  createUser,
  deactivationPreview,
  deleteUser,
  moveUser,
  setActive,
  setPassword,
  setRole,
  updateUser,
} from './service.js';

const byId = z.object({ id: idSchema });
const versioned = z.object({ id: idSchema, version: z.number().int().min(1).optional() });

export const usersRouter = router({
  list: accountReadProcedure
    .input(z.object({ accountId: idSchema, sort: userSortSchema.optional(), cursor: cursorSchema, limit: limitSchema }))
    .output(pageOf(userOutput))
    .query(async ({ ctx, input }) => {
      return onReader(ctx, async (db) => {
        await assertAccountInOrganization(db, ctx.actor, input.accountId);
        return searchUsers(db, ctx.actor.organizationId, scopedFilter(ctx.actor, input));
      });
    }),

  search: accountReadProcedure
    .input(
      // The same filters as the CSV export (users/export.ts), plus order and paging.
      userFilterSchema
        .extend({ sort: userSortSchema.optional(), cursor: cursorSchema, limit: limitSchema })
        .default({ limit: 25 }),
    )
    .output(pageOf(userOutput))
    .query(({ ctx, input }) =>
      onReader(ctx, (db) => searchUsers(db, ctx.actor.organizationId, scopedFilter(ctx.actor, input))),
    ),

  get: accountReadProcedure
    .input(
      z.union([z.object({ id: idSchema }), z.object({ email: emailSchema })], {
        error: 'Give either an id or an email',
      }),
    )
    .output(userOutput)
    .query(async ({ ctx, input }) => {
      const user =
        'id' in input
          ? await findUserById(ctx.db, ctx.actor.organizationId, input.id)
          : await findUserByEmail(ctx.db, ctx.actor.organizationId, input.email);
      if (!user) throw appError('NOT_FOUND', 'No such user.');
      assertUserInScope(ctx.actor, user);
      return user;
    }),

  create: accountManageProcedure
    .input(createUserSchema)
    .output(userOutput)
    .mutation(({ ctx, input }) => createUser(ctx.db, ctx.actor, input, ctx.mail)),

  update: accountManageProcedure
    .input(updateUserSchema)
    .output(userOutput)
    .mutation(({ ctx, input }) => updateUser(ctx.db, ctx.actor, input, ctx.mail)),

  setPassword: accountManageProcedure
    .input(z.object({ id: idSchema, password: passwordSchema }))
    .output(userOutput)
    .mutation(({ ctx, input }) => setPassword(ctx.db, ctx.actor, input)),

  deactivate: accountManageProcedure
    .input(versioned)
    .output(userOutput)
    .mutation(({ ctx, input }) => setActive(ctx.db, ctx.actor, { ...input, active: false })),

  /** A new invitation link, mailed again; the previous link stops working. */
  resendInvitation: accountManageProcedure
    .input(byId)
    .output(userOutput)
    .mutation(({ ctx, input }) => resendInvitation(ctx.db, ctx.actor, ctx.mail, input.id)),

  /** The open invitation stops working; the user stays, without a password, until invited again. */
  cancelInvitation: accountManageProcedure
    .input(byId)
    .output(userOutput)
    .mutation(({ ctx, input }) => cancelInvitation(ctx.db, ctx.actor, input.id)),

  reactivate: accountManageProcedure
    .input(versioned)
    .output(userOutput)
    .mutation(({ ctx, input }) => setActive(ctx.db, ctx.actor, { ...input, active: true })),

  deactivationPreview: accountReadProcedure
    .input(byId)
    .output(deactivationPreviewOutput)
    .query(({ ctx, input }) => deactivationPreview(ctx.db, ctx.actor, input.id, ctx.sessions.idleTimeoutMs)),

  move: adminProcedure
    .input(z.object({ id: idSchema, accountId: idSchema, version: z.number().int().min(1) }))
    .output(userOutput)
    .mutation(({ ctx, input }) => moveUser(ctx.db, ctx.actor, input)),

  delete: accountManageProcedure
    .input(byId)
    .output(userOutput)
    .mutation(({ ctx, input }) => deleteUser(ctx.db, ctx.actor, input.id)),

  setRole: adminProcedure
    .input(z.object({ id: idSchema, role: roleSchema }))
    .output(userOutput)
    .mutation(({ ctx, input }) => setRole(ctx.db, ctx.actor, input)),

  unlock: accountManageProcedure
    .input(byId)
    .output(userOutput)
    .mutation(({ ctx, input }) => unlockUser(ctx.db, ctx.actor, input.id)),

  sessions: accountReadProcedure
    .input(byId)
    .output(z.array(sessionOutput))
    .query(({ ctx, input }) => listSessions(ctx.db, ctx.actor, input.id, ctx.sessions)),

  endSessions: accountManageProcedure
    .input(z.object({ id: idSchema, revokeApiKeys: z.boolean().optional() }))
    .output(endedSessionsOutput)
    .mutation(({ ctx, input }) => endUserSessions(ctx.db, ctx.actor, input)),

  /**
   * A bulk action: with dryRun, what it would do (counts, skips and why, what it
   * ends) and a previewToken; without, the operation that applies it in the
   * background (refused when the selection is no longer the previewed set).
   */
  bulk: accountManageProcedure
    .input(bulkInputSchema)
    .output(bulkStartedOutput)
    .mutation(async ({ ctx, input }) =>
      input.dryRun
        ? { preview: await previewBulk(ctx.db, ctx.actor, input), operation: null }
        : { preview: null, operation: await startBulk(ctx.db, ctx.actor, input) },
    ),

  /** A bulk action's progress, skips by reason, and a page of its per-user results. */
  bulkStatus: accountReadProcedure
    .input(
      z.object({
        id: idSchema,
        outcome: z.enum(['pending', 'done', 'skipped']).optional(),
        cursor: cursorSchema,
        limit: limitSchema,
      }),
    )
    .output(bulkStatusOutput)
    .query(({ ctx, input }) => bulkStatus(ctx.db, ctx.actor, input)),

  /** The organization's bulk actions, newest first. */
  bulkList: accountReadProcedure
    .input(z.object({ cursor: cursorSchema, limit: limitSchema }).default({ limit: 25 }))
    .output(pageOf(bulkOperationOutput))
    .query(({ ctx, input }) => bulkList(ctx.db, ctx.actor, input)),
});
