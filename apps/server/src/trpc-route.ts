// Serves tRPC's HTTP protocol at /trpc for the calls our clients make (JSON
// queries by GET and mutations by POST, batched or not) straight from
// Fastify's request to a string reply. tRPC's own Fastify adapter turns every
// request into a web `Request`, an AbortController and a web `Response`, and
// streams that back in chunks: at a thousand small reads a second that was
// most of the server's CPU (see bench/README.md). Anything else (jsonl
// streaming) goes to tRPC's adapter, unchanged.
//
// Both go through the same guards, which are on this route itself: its
// onRequest hook and its body parser run for whatever spelling of the URL the
// router matched (`/%74rpc/...`, `http://host/trpc/...`), so no request reaches
// a procedure without passing them.
//
// The wire format is tRPC 11's, and `trpc-route.test.ts` holds it to that: it
// sends the same requests here and to tRPC's adapter and compares the answers.
import type { AnyTRPCRouter } from '@trpc/server';
import { fastifyRequestHandler } from '@trpc/server/adapters/fastify';
import {
  type AnyProcedure,
  getErrorShape,
  getHTTPStatusCode,
  getProcedureAtPath,
  getTRPCErrorFromUnknown,
  TRPCError,
  transformTRPCResponse,
} from '@trpc/server/unstable-core-do-not-import';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { readBoundedBody } from './bounded-body.js';
import { JsonDepthScanner, nestsDeeperThan } from './json-depth.js';
import { browserCallRefusal, type OriginPolicy, type Refusal, refuse } from './request-guards.js';

export type TrpcGuards = {
  /** Browser origins whose calls are accepted. */
  origins: OriginPolicy;
  /**
   * The most bytes this request's body may have, from the procedure paths it
   * names (decided before any of the body is read).
   */
  bodyLimitFor(request: FastifyRequest, paths: readonly string[]): number;
  /** Deepest nesting of arrays and objects accepted in a body or `input=` (refused before parsing). */
  maxJsonDepth: number;
};

export type TrpcRouteOptions<TRouter extends AnyTRPCRouter, TContext> = {
  router: TRouter;
  createContext(request: FastifyRequest, reply: FastifyReply): TContext;
  /** Calls in one batched request, at most. */
  maxBatchSize: number;
  /** Extra headers for an answer, from the errors in it (e.g. Retry-After). */
  headersFor?(errors: TRPCError[]): Record<string, string>;
  onError?(error: TRPCError, path: string, request: FastifyRequest): void;
  /** `stock` sends every request through tRPC's adapter (the comparison tests use it). */
  handler?: 'lean' | 'stock';
  guards: TrpcGuards;
};

type Call = { path: string; procedure: AnyProcedure | null; input: () => unknown };
type Outcome = { ok: true; data: unknown } | { ok: false; error: TRPCError };

const parseError = (cause: unknown) =>
  new TRPCError({ code: 'PARSE_ERROR', message: 'The call’s input is not valid JSON.', cause });

/** The procedure path(s) of the URL; a malformed escape names no procedure. */
function decodedPath(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new TRPCError({ code: 'NOT_FOUND', message: 'No procedure found on that path.' });
  }
}

/** The procedure paths a request names, for deciding its limits before reading it; unusable ones name none. */
function namedPaths(request: FastifyRequest): string[] {
  try {
    // Split whether or not the query says batch: a path with a comma names no procedure anyway.
    return decodedPath((request.params as { path: string }).path).split(',');
  } catch {
    return [];
  }
}

function httpError(refusal: Refusal): Error & { statusCode: number } {
  return Object.assign(new Error(refusal.message), { statusCode: refusal.statusCode });
}

const tooDeep = (maxDepth: number): Refusal => ({
  statusCode: 400,
  error: 'Bad Request',
  message: `The call's input nests arrays or objects deeper than ${maxDepth} levels.`,
});

/** Whether the client asked for tRPC's streamed (jsonl) answer, which only tRPC's adapter writes. */
function wantsStream(request: FastifyRequest): boolean {
  const accept = request.headers['trpc-accept'];
  if (accept !== undefined) return accept === 'application/jsonl';
  return (request.headers.accept ?? '').split(',').some((type) => type.trim() === 'application/jsonl');
}

export function registerTrpcRoute<TRouter extends AnyTRPCRouter, TContext>(
  app: FastifyInstance,
  prefix: string,
  options: TrpcRouteOptions<TRouter, TContext>,
): void {
  const { router } = options;
  const config = router._def._config;
  const transformer = config.transformer.input;

  const { guards } = options;

  /**
   * Runs after routing, before any body is read: on the route that runs,
   * whatever the spelling of its URL. No caching of API answers (they carry
   * personal data), GET and POST only, and for POST the browser checks.
   */
  async function guard(request: FastifyRequest, reply: FastifyReply) {
    reply.header('cache-control', 'no-store');
    if (request.method !== 'GET' && request.method !== 'POST') {
      return refuse(reply.header('allow', 'GET, POST'), {
        statusCode: 405,
        error: 'Method Not Allowed',
        message: `Call the API with GET (queries) or POST (mutations), not ${request.method}.`,
      });
    }
    if (request.method === 'POST') {
      const refusal = browserCallRefusal(request, guards.origins);
      if (refusal) return refuse(reply, refusal);
      return;
    }
    // GET: the input is in the query. Both Fastify's reading of it (lean) and tRPC's (stock) are checked,
    // each distinct text once: where the two readings agree (nearly always) it is scanned once, not twice.
    const query = request.query as Record<string, string | string[] | undefined>;
    const search = request.url.indexOf('?');
    const inputs = new Set([
      ...[query.input ?? []].flat(),
      ...(search === -1 ? [] : new URLSearchParams(request.url.slice(search + 1)).getAll('input')),
    ]);
    if ([...inputs].some((input) => nestsDeeperThan(input, guards.maxJsonDepth))) {
      return refuse(reply, tooDeep(guards.maxJsonDepth));
    }
  }

  /**
   * The one body reader of the route (JSON only: no other media type gets
   * here). The limit depends on the procedures called (bodyLimitFor), so it is
   * enforced here rather than by Fastify's fixed route limit: at once from
   * Content-Length, else while reading. Too deep nesting is refused while
   * reading, before any JSON.parse; the text is parsed per call, so a bad body
   * is that call's PARSE_ERROR.
   */
  function readJsonBody(
    request: FastifyRequest,
    payload: NodeJS.ReadableStream,
    done: (error: Error | null, body?: string) => void,
  ) {
    const limit = guards.bodyLimitFor(request, namedPaths(request));
    const tooLarge = () =>
      httpError({
        statusCode: 413,
        error: 'Payload Too Large',
        message: `The request body is larger than ${limit} bytes, the most this call accepts${
          limit < 1024 * 1024 ? ' (calls without a session, such as sign-in, accept less)' : ''
        }.`,
      });
    const depth = new JsonDepthScanner(guards.maxJsonDepth);
    readBoundedBody(
      request,
      payload,
      {
        limit,
        tooLarge,
        wrongLength: () =>
          httpError({
            statusCode: 400,
            error: 'Bad Request',
            message: 'The body is not as long as its Content-Length.',
          }),
        // Scanned as it arrives: a body too deep is refused at its 65th bracket, not after a megabyte.
        inspect: (bytes) => (depth.push(bytes) ? httpError(tooDeep(guards.maxJsonDepth)) : undefined),
      },
      (error, body) => (error ? done(error) : done(null, body?.toString('utf8'))),
    );
  }

  app.register(async (scope) => {
    // JSON is the only body this route reads: no text/plain, form or multipart parser exists here.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/json', readJsonBody);

    scope.all(`${prefix}/:path`, { onRequest: guard }, async (request, reply) => {
      const path = (request.params as { path: string }).path;
      if (options.handler === 'stock' || wantsStream(request)) {
        await fastifyRequestHandler({
          router,
          req: request,
          res: reply,
          path,
          maxBatchSize: options.maxBatchSize,
          createContext: () => options.createContext(request, reply),
          responseMeta: ({ errors }) => ({ headers: options.headersFor?.(errors) ?? {} }),
          onError: ({ error, path: callPath }) => options.onError?.(error, callPath ?? '', request),
        });
        return reply;
      }
      return answer(request, reply, path);
    });
  });

  async function answer(request: FastifyRequest, reply: FastifyReply, rawPath: string) {
    const query = request.query as Record<string, string | undefined>;
    const isBatch = query.batch === '1';
    const method = request.method;
    reply.header('vary', 'trpc-accept, accept');

    let calls: Call[];
    try {
      calls = await readCalls(request, decodedPath(rawPath), isBatch);
    } catch (cause) {
      // The request as a whole is unusable (too big a batch, a bad path): one error answers it.
      const error = getTRPCErrorFromUnknown(cause);
      options.onError?.(error, rawPath, request);
      const shape = {
        error: getErrorShape({ config, error, type: 'unknown', path: undefined, input: undefined, ctx: undefined }),
      };
      return send(reply, getHTTPStatusCode(shape), [error], transformTRPCResponse(config, shape));
    }

    const ctx = options.createContext(request, reply);
    const outcomes = await Promise.all(
      calls.map(async (call, batchIndex): Promise<Outcome> => {
        try {
          const procedure = call.procedure;
          if (!procedure) {
            throw new TRPCError({ code: 'NOT_FOUND', message: `No procedure found on path "${call.path}"` });
          }
          const type = procedure._def.type;
          if (
            (type === 'query' && method !== 'GET') ||
            (type === 'mutation' && method !== 'POST') ||
            type === 'subscription'
          ) {
            throw new TRPCError({
              code: 'METHOD_NOT_SUPPORTED',
              message: `Unsupported ${method}-request to ${type} procedure at path "${call.path}"`,
            });
          }
          const data = await procedure({
            path: call.path,
            getRawInput: async () => call.input(),
            ctx,
            type,
            signal: undefined,
            batchIndex,
          });
          return { ok: true, data };
        } catch (cause) {
          const error = getTRPCErrorFromUnknown(cause);
          options.onError?.(error, call.path, request);
          return { ok: false, error };
        }
      }),
    );

    const items = outcomes.map((outcome, index) => {
      if (outcome.ok) return { result: { data: outcome.data } };
      const call = calls[index];
      let input: unknown;
      try {
        input = call?.input();
      } catch {
        input = undefined;
      }
      return {
        error: getErrorShape({
          config,
          ctx,
          error: outcome.error,
          type: call?.procedure?._def.type ?? 'unknown',
          path: call?.path,
          input,
        }),
      };
    });
    const errors = outcomes.flatMap((outcome) => (outcome.ok ? [] : [outcome.error]));
    const body = isBatch ? items : items[0];
    if (!body) throw new Error('a request without calls');
    return send(reply, getHTTPStatusCode(body), errors, transformTRPCResponse(config, body));
  }

  /** The calls of a request: their paths, procedures and (lazily parsed) inputs. */
  async function readCalls(request: FastifyRequest, path: string, isBatch: boolean): Promise<Call[]> {
    const paths = isBatch ? path.split(',') : [path];
    if (isBatch && paths.length > options.maxBatchSize) {
      throw new TRPCError({ code: 'BAD_REQUEST', message: 'Batch call exceeds maximum size' });
    }
    const text =
      request.method === 'GET'
        ? (request.query as Record<string, string | undefined>).input
        : typeof request.body === 'string' && request.body !== ''
          ? request.body
          : undefined;
    // Parsed once, on the first call that reads its input; a parse failure is each call's error.
    let inputs: { ok: true; values: Record<number, unknown> } | { ok: false; error: TRPCError } | undefined;
    const inputsOnce = () => {
      if (inputs) return inputs;
      try {
        const raw: unknown = text === undefined ? undefined : JSON.parse(text);
        if (raw === undefined) inputs = { ok: true, values: {} };
        else if (!isBatch) inputs = { ok: true, values: { 0: transformer.deserialize(raw) } };
        else if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
          inputs = {
            ok: false,
            error: new TRPCError({
              code: 'BAD_REQUEST',
              message: '"input" needs to be an object when doing a batch call',
            }),
          };
        } else {
          const values: Record<number, unknown> = {};
          const byIndex = raw as Record<string, unknown>;
          for (const index of paths.keys()) {
            const value = byIndex[index];
            if (value !== undefined) values[index] = transformer.deserialize(value);
          }
          inputs = { ok: true, values };
        }
      } catch (cause) {
        inputs = { ok: false, error: parseError(cause) };
      }
      return inputs;
    };
    const calls = await Promise.all(
      paths.map(async (callPath, index) => ({
        path: callPath,
        procedure: await getProcedureAtPath(router, callPath),
        input: () => {
          const read = inputsOnce();
          if (!read.ok) throw read.error;
          return read.values[index];
        },
      })),
    );
    const types = new Set(calls.flatMap((call) => (call.procedure ? [call.procedure._def.type] : [])));
    if (types.size > 1) {
      throw new TRPCError({
        code: 'BAD_REQUEST',
        message: `Cannot mix procedure types in call: ${[...types].join(', ')}`,
      });
    }
    return calls;
  }

  function send(reply: FastifyReply, status: number, errors: TRPCError[], body: unknown) {
    const extra = errors.length > 0 ? options.headersFor?.(errors) : undefined;
    if (extra) reply.headers(extra);
    return reply.code(status).header('content-type', 'application/json').send(JSON.stringify(body));
  }
}
