import { z } from 'zod';
import { recordAudit } from '../audit/queries.js';
import { authenticate } from '../core/authenticate.js';
import { appError, fieldError } from '../errors.js';
import { userOutput } from '../shared/outputs.js';
import { changePasswordSchema, loginSchema } from '../shared/schemas.js';
import { authedProcedure, publicProcedure, router } from '../trpc.js';
import { findUserById } from '../users/queries.js';
import { assertNotCommonPassword } from './common-passwords.js';
import { hashPassword } from './passwords.js';
import { endSessions } from './queries.js';
import { endSessionByToken, startSession } from './sessions.js';
import { checkCredentials, checkCurrentPassword } from './sign-in.js';

/**
 * Sessions are the console's. A request carrying an API key never starts, ends
 * or changes one, nor the password behind them.
 */
const notWithApiKey = (what: string) => appError('NOT_WITH_API_KEY', `Not allowed with an API key: ${what}`);

export const authRouter = router({
  login: publicProcedure
    .input(loginSchema)
    .output(z.object({ user: userOutput }))
    .mutation(async ({ ctx, input }) => {
      if (ctx.bearerToken !== null) throw notWithApiKey('a key already says who you are; sign in from the console.');
      // Rate limits, lockout and constant-time failure live in sign-in.ts.
      const { token, expiresAt, user } = await checkCredentials(ctx, input, async (tx, found, organizationId) => {
        // A new token at every sign-in; the one the browser held before is ended.
        if (ctx.sessionToken) await endSessionByToken(tx, ctx.sessionToken);
        const session = await startSession(tx, {
          userId: found.id,
          clientAddress: ctx.clientAddress,
          userAgent: ctx.userAgent,
          absoluteTimeoutMs: ctx.sessions.absoluteTimeoutMs,
          idleTimeoutMs: ctx.sessions.idleTimeoutMs,
        });
        await recordAudit(tx, {
          actor: { id: found.id, email: found.email, organizationId },
          action: 'auth.signed_in',
          targetType: 'user',
          targetId: found.id,
          targetLabel: found.email,
          after: { clientAddress: ctx.clientAddress, endedSessions: session.endedSessions },
        });
        return { ...session, user: found };
      });
      ctx.cookies.set(token, expiresAt);
      return { user };
    }),

  logout: publicProcedure.output(z.object({ ok: z.literal(true) })).mutation(async ({ ctx }) => {
    if (ctx.bearerToken !== null) throw notWithApiKey('there is no session to end; revoke the key to stop it.');
    const token = ctx.sessionToken;
    if (token) {
      await ctx.db.transaction().execute(async (tx) => {
        const ended = await endSessionByToken(tx, token);
        const user =
          ended &&
          (await tx
            .selectFrom('users')
            .select(['id', 'organizationId', 'email'])
            .where('id', '=', ended.userId)
            .executeTakeFirst());
        if (!user) return;
        await recordAudit(tx, {
          actor: { id: user.id, email: user.email, organizationId: user.organizationId },
          action: 'auth.signed_out',
          targetType: 'user',
          targetId: user.id,
          targetLabel: user.email,
          after: { clientAddress: ctx.clientAddress },
        });
      });
    }
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
      const actor = ctx.actor;
      if (actor.via !== 'session') throw notWithApiKey('change your password in the console.');
      assertNotCommonPassword(input.newPassword, ['newPassword']);
      if (!(await checkCurrentPassword(ctx, actor, input.currentPassword))) {
        // Named as the field at fault in data.fieldErrors, like any bad input.
        throw fieldError('WRONG_CURRENT_PASSWORD', ['currentPassword'], 'The current password is incorrect.');
      }
      const passwordHash = await hashPassword(input.newPassword);
      await ctx.db.transaction().execute(async (tx) => {
        await tx.updateTable('users').set({ passwordHash }).where('id', '=', ctx.actor.id).execute();
        // Everyone else who signed in as this user is signed out; this session goes on.
        await endSessions(tx, ctx.actor.id, actor.sessionId);
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
