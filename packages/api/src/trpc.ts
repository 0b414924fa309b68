import { initTRPC } from '@trpc/server';
import superjson from 'superjson';
import { ZodError } from 'zod';
import type { Context } from './context.js';
import { authenticate } from './core/authenticate.js';
import { noteWrite } from './core/read-replica.js';
import { appError, mapDatabaseError, reasonOf } from './errors.js';

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

const t = initTRPC.context<Context>().create({
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
export const middleware = t.middleware;

/**
 * Database errors become tRPC errors with the right code in one place. Every
 * procedure passes here, so here it is counted as running until it ends.
 */
const mapErrors = t.middleware(async ({ ctx, next }) => {
  const result = await (ctx.inflight ? ctx.inflight.track(next()) : next());
  if (!result.ok) {
    const mapped = mapDatabaseError(result.error.cause);
    if (mapped) throw mapped;
  }
  return result;
});

/** Anyone may call it. */
export const publicProcedure = t.procedure.use(mapErrors);

/**
 * A live session of an active user. With a read replica, a change that
 * succeeded notes the primary's WAL position on the caller's session or key,
 * so the caller's next reads wait for the replica to have it (core/read-replica.ts).
 */
export const authedProcedure = publicProcedure.use(async ({ ctx, next, type }) => {
  const actor = await authenticate(ctx);
  if (!actor) {
    throw appError('UNAUTHENTICATED', 'Sign in to continue.');
  }
  ctx.onActor?.(actor);
  if (ctx.replica === null || type !== 'mutation') return next({ ctx: { ...ctx, actor } });
  const result = await next({ ctx: { ...ctx, actor } });
  if (result.ok) await noteWrite(ctx.db, actor);
  return result;
});

/** An active administrator of the organization. */
export const adminProcedure = authedProcedure.use(async ({ ctx, next }) => {
  if (ctx.actor.role !== 'admin') {
    throw appError('NOT_ADMIN', 'Not allowed: account management is for administrators.');
  }
  return next({ ctx });
});
