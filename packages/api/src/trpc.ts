import { initTRPC } from '@trpc/server';
import superjson from 'superjson';
import { ZodError } from 'zod';
import type { Context } from './context.js';
import { type Access, assertAccess, isAccess, type ProcedureMeta } from './core/access.js';
import { authenticate } from './core/authenticate.js';
import { noteWrite } from './core/read-replica.js';
import { appError, mapDatabaseError, reasonOf } from './errors.js';
import type { Actor } from './shared/actor.js';

/** Field-level messages of a validation failure: `{ "users.0.email": ["..."] }`. */
export type FieldErrors = Record<string, string[]>;

function fieldErrorsOf(error: ZodError): FieldErrors {
  const fields: FieldErrors = {};
  for (const issue of error.issues) {
    const key = issue.path.map(String).join('.') || '_';
    fields[key] = [...(fields[key] ?? []), issue.message];
  }
  return fields;
}

const t = initTRPC
  .context<Context>()
  .meta<ProcedureMeta>()
  .create({
    transformer: superjson,
    errorFormatter({ shape, error }) {
      const zodError = error.cause instanceof ZodError ? error.cause : null;
      const fieldErrors = zodError ? fieldErrorsOf(zodError) : null;
      return {
        ...shape,
        // A person reads this: "email: Enter a valid email address" rather than a JSON dump.
        message: fieldErrors
          ? Object.entries(fieldErrors)
              .map(([field, messages]) => (field === '_' ? messages.join(' ') : `${field}: ${messages.join(' ')}`))
              .join('; ')
          : error.code === 'INTERNAL_SERVER_ERROR'
            ? // The cause (a database message, a stack) is for the server's log, not the client.
              'Something went wrong on our side. It has been logged; try again, and tell your administrator if it persists.'
            : shape.message,
        data: {
          code: shape.data.code,
          // The catalog's stable name for the refusal (shared/error-reasons.ts): what programs switch on.
          reason: reasonOf(error),
          httpStatus: shape.data.httpStatus,
          path: shape.data.path,
          fieldErrors,
        },
      };
    },
  });

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/**
 * Runs a procedure's middlewares and resolver: counted as running until it
 * ends (graceful shutdown waits for it), and database errors, thrown or in
 * the result, become tRPC errors with the right code, in one place.
 */
async function guarded<R extends { ok: true } | { ok: false; error: { cause?: unknown } }>(
  ctx: Context,
  work: () => Promise<R>,
): Promise<R> {
  let result: R;
  try {
    result = await (ctx.inflight ? ctx.inflight.track(work()) : work());
  } catch (cause) {
    throw mapDatabaseError(cause) ?? cause;
  }
  if (!result.ok) {
    const mapped = mapDatabaseError(result.error.cause);
    if (mapped) throw mapped;
  }
  return result;
}

// Who may call a procedure is declared with it, once: each builder below sets
// its access rule (core/access.ts) as the procedure's `meta.access`, and one
// check (`actorFor`) enforces what the meta says. A procedure whose meta names
// no rule is refused to everyone (the matrix test fails for it too).
//
// Each procedure has exactly one middleware of ours (`open` or `signedIn`):
// tRPC copies its call options, and the context when a middleware adds to it,
// at every middleware, which was a tenth of a small read's server time.

/** The rule in the procedure's meta; none: refused. */
function accessOf(meta: ProcedureMeta | undefined): Access {
  const access = meta?.access;
  if (!isAccess(access)) throw appError('NOT_ALLOWED', 'Not allowed: this procedure declares no access rule.');
  return access;
}

/** The signed-in caller, if the rule lets them call: otherwise the refusal. */
async function actorFor(ctx: Context, access: Access): Promise<Actor> {
  const actor = await authenticate(ctx);
  if (!actor) throw appError('UNAUTHENTICATED', 'Sign in to continue.');
  ctx.onActor?.(actor);
  assertAccess(actor, access);
  return actor;
}

/** Procedures anyone may call (their rule is `public`; any other rule is enforced all the same). */
const open = t.procedure.use(({ ctx, meta, next }) =>
  guarded(ctx, async () => {
    const access = accessOf(meta);
    if (access !== 'public') await actorFor(ctx, access);
    return next();
  }),
);

/**
 * Procedures for a signed-in caller, whose rule decides who: the actor goes
 * into the context. With a read replica, a change that succeeded notes the
 * primary's WAL position on the caller's session or key, so the caller's next
 * reads wait for the replica to have it (core/read-replica.ts).
 */
const signedIn = t.procedure.use(({ ctx, meta, next, type }) =>
  guarded(ctx, async () => {
    const actor = await actorFor(ctx, accessOf(meta));
    // tRPC merges what `next` is given into the context: only what is new.
    const result = await next({ ctx: { actor } });
    if (result.ok && type === 'mutation' && ctx.replica !== null) await noteWrite(ctx.db, actor);
    return result;
  }),
);

/** Anyone may call it. */
export const publicProcedure = open.meta({ access: 'public' });

const withAccess = (access: Exclude<Access, 'public'>) => signedIn.meta({ access });

/** A live session (or API key) of an active user, whatever their role: the service decides what is theirs. */
export const authedProcedure = withAccess('signedIn');

/** An active organization administrator. */
export const adminProcedure = withAccess('orgAdmin');

/** Organization administrators and auditors: reads of the whole organization. */
export const orgReadProcedure = withAccess('orgRead');

/** Administrators and auditors, and account administrators within their account (the service scopes them). */
export const accountReadProcedure = withAccess('accountRead');

/** Administrators, and account administrators on the plain users of their account (the service scopes them). */
export const accountManageProcedure = withAccess('accountManage');
