import { authenticate } from '../core/authenticate.js';
import { noteSignInWrite } from '../core/read-replica.js';
import { appError } from '../errors.js';
import { acceptInvitation, lookUpInvitation } from '../links/invitations.js';
import { requestPasswordReset, resetPassword } from '../links/resets.js';
import { invitationOutput, okOutput, resetRequestOutput, signedInOutput, userOutput } from '../shared/outputs.js';
import {
  acceptInvitationSchema,
  changePasswordSchema,
  invitationLookupSchema,
  loginSchema,
  requestPasswordResetSchema,
  resetPasswordSchema,
} from '../shared/schemas.js';
import { authedProcedure, publicProcedure, router } from '../trpc.js';
import { findUserById } from '../users/queries.js';
import { changePassword, signIn, signOut } from './service.js';

/**
 * Sessions are the console's. A request carrying an API key never starts, ends
 * or changes one, nor the password behind them.
 */
const notWithApiKey = (what: string) => appError('NOT_WITH_API_KEY', `Not allowed with an API key: ${what}`);

export const authRouter = router({
  login: publicProcedure
    .input(loginSchema)
    .output(signedInOutput)
    .mutation(async ({ ctx, input }) => {
      if (ctx.bearerToken !== null) throw notWithApiKey('a key already says who you are; sign in from the console.');
      const { token, expiresAt, user } = await signIn(ctx, input);
      if (ctx.replica) await noteSignInWrite(ctx.db, token);
      ctx.cookies.set(token, expiresAt);
      return { user };
    }),

  logout: publicProcedure.output(okOutput).mutation(async ({ ctx }) => {
    if (ctx.bearerToken !== null) throw notWithApiKey('there is no session to end; revoke the key to stop it.');
    if (ctx.sessionToken) await signOut(ctx, ctx.sessionToken);
    ctx.cookies.clear();
    return { ok: true as const };
  }),

  me: publicProcedure.output(userOutput.nullable()).query(async ({ ctx }) => {
    const actor = await authenticate(ctx);
    if (!actor) return null;
    return (await findUserById(ctx.db, actor.organizationId, actor.id)) ?? null;
  }),

  /**
   * An invitation link's organization and email, or why it does not work (expired, used, not valid).
   * A mutation though it changes nothing: the token travels in a POST body, never in a URL that a
   * proxy's access log would keep.
   */
  invitation: publicProcedure
    .input(invitationLookupSchema)
    .output(invitationOutput)
    .mutation(({ ctx, input }) => {
      // Like signing in, a console flow: a script's key has nothing to do with someone's invitation.
      if (ctx.bearerToken !== null) throw notWithApiKey('open an invitation in the console.');
      return lookUpInvitation(ctx.db, input.token);
    }),

  /** Chooses the first password through an invitation link, and signs in. */
  acceptInvitation: publicProcedure
    .input(acceptInvitationSchema)
    .output(signedInOutput)
    .mutation(async ({ ctx, input }) => {
      if (ctx.bearerToken !== null) throw notWithApiKey('accept an invitation in the console.');
      const { session, userId, organizationId } = await acceptInvitation(ctx, input);
      ctx.cookies.set(session.token, session.expiresAt);
      const user = await findUserById(ctx.db, organizationId, userId);
      if (!user) throw appError('USER_DELETED', 'This user was deleted meanwhile.');
      return { user };
    }),

  /** Mails a reset link if the email is an active user's; the same answer, in the same time, either way. */
  requestPasswordReset: publicProcedure
    .input(requestPasswordResetSchema)
    .output(resetRequestOutput)
    .mutation(({ ctx, input }) => {
      if (ctx.bearerToken !== null) throw notWithApiKey('ask for a password reset on the sign-in page.');
      return requestPasswordReset(ctx, input);
    }),

  /** Sets a new password through a reset link: ends every session of the user, then signs in. */
  resetPassword: publicProcedure
    .input(resetPasswordSchema)
    .output(signedInOutput)
    .mutation(async ({ ctx, input }) => {
      if (ctx.bearerToken !== null) throw notWithApiKey('reset a password in the console.');
      const { session, userId, organizationId } = await resetPassword(ctx, input);
      ctx.cookies.set(session.token, session.expiresAt);
      const user = await findUserById(ctx.db, organizationId, userId);
      if (!user) throw appError('USER_DELETED', 'This user was deleted meanwhile.');
      return { user };
    }),

  changePassword: authedProcedure
    .input(changePasswordSchema)
    .output(okOutput)
    .mutation(async ({ ctx, input }) => {
      const actor = ctx.actor;
      if (actor.via !== 'session') throw notWithApiKey('change your password in the console.');
      await changePassword(ctx, actor, input);
      return { ok: true as const };
    }),
});
