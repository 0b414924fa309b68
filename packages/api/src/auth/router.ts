import { TRPCError } from '@trpc/server';
import { sql } from 'kysely';
import { ZodRealError, z } from 'zod';
import { recordAudit } from '../audit/queries.js';
import { userOutput } from '../shared/outputs.js';
import { changePasswordSchema, loginSchema } from '../shared/schemas.js';
import { authedProcedure, publicProcedure, router } from '../trpc.js';
import { findUserById, userColumns } from '../users/queries.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { authenticate, createSession, endSessionByToken, endSessions } from './sessions.js';

/** One message for every failed sign-in, whatever the reason. */
const signInFailed = () => new TRPCError({ code: 'UNAUTHORIZED', message: 'The email or password is incorrect.' });

export const authRouter = router({
  login: publicProcedure
    .input(loginSchema)
    .output(z.object({ user: userOutput }))
    .mutation(async ({ ctx, input }) => {
      const user = await ctx.db
        .selectFrom('users')
        .select([...userColumns, 'users.passwordHash', 'users.organizationId'])
        .where(sql<string>`lower(email)`, '=', input.email)
        .executeTakeFirst();
      // Unknown emails, deactivated users and users without a password all verify
      // against a dummy hash, so the failure looks and takes the same.
      const usable = user?.active && user.passwordHash ? user.passwordHash : null;
      const ok = await verifyPassword(usable, input.password);
      if (!user || !usable || !ok) throw signInFailed();

      // A new token at every sign-in; the one the browser held before is ended.
      if (ctx.sessionToken) await endSessionByToken(ctx.db, ctx.sessionToken);
      const session = await ctx.db.transaction().execute(async (tx) => {
        await tx.updateTable('users').set({ lastLoginAt: sql<Date>`now()` }).where('id', '=', user.id).execute();
        return createSession(tx, {
          userId: user.id,
          clientAddress: ctx.clientAddress,
          userAgent: ctx.userAgent,
          absoluteTimeoutMs: ctx.sessions.absoluteTimeoutMs,
        });
      });
      ctx.cookies.set(session.token, session.expiresAt);
      const fresh = await findUserById(ctx.db, user.organizationId, user.id);
      if (!fresh) throw signInFailed();
      return { user: fresh };
    }),

  logout: publicProcedure.output(z.object({ ok: z.literal(true) })).mutation(async ({ ctx }) => {
    if (ctx.sessionToken) await endSessionByToken(ctx.db, ctx.sessionToken);
    ctx.cookies.clear();
    return { ok: true as const };
  }),

  me: publicProcedure.output(userOutput.nullable()).query(async ({ ctx }) => {
    const actor = await authenticate(ctx);
    if (!actor) return null;
    return (await findUserById(ctx.db, actor.organizationId, actor.id)) ?? null;
  }),

  changePassword: authedProcedure
    .input(changePasswordSchema)
    .output(z.object({ ok: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      const current = await ctx.db
        .selectFrom('users')
        .select('passwordHash')
        .where('id', '=', ctx.actor.id)
        .executeTakeFirstOrThrow();
      if (!(await verifyPassword(current.passwordHash, input.currentPassword))) {
        // Shaped like a validation failure, so `data.fieldErrors` puts it next to the field.
        throw new TRPCError({
          code: 'BAD_REQUEST',
          message: 'currentPassword: The current password is incorrect.',
          cause: new ZodRealError([
            {
              code: 'custom',
              path: ['currentPassword'],
              message: 'The current password is incorrect.',
              input: undefined,
            },
          ]),
        });
      }
      const passwordHash = await hashPassword(input.newPassword);
      await ctx.db.transaction().execute(async (tx) => {
        await tx.updateTable('users').set({ passwordHash }).where('id', '=', ctx.actor.id).execute();
        // Everyone else who signed in as this user is signed out; this session goes on.
        await endSessions(tx, ctx.actor.id, ctx.actor.sessionId);
        await recordAudit(tx, {
          actor: ctx.actor,
          action: 'user.password_changed',
          targetType: 'user',
          targetId: ctx.actor.id,
          targetLabel: ctx.actor.email,
        });
      });
      return { ok: true as const };
    }),
});
