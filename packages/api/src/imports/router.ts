import { z } from 'zod';
import { appError } from '../errors.js';
import { cursorSchema, idSchema, importVerdicts } from '../shared/schemas.js';
import { adminProcedure, router } from '../trpc.js';
import { findImport, importRowsPage } from './queries.js';
import { applyUserImport, getImport } from './service.js';

// CSV imports of users. The preview is made by uploading the file to
// POST /import/users (apps/server: a CSV body, not JSON); these procedures read
// the stored preview, page through its rows and apply it.

const verdictSchema = z.enum(importVerdicts, { error: 'A verdict is error, create, update or unchanged' });

const summaryOutput = z.object({
  total: z.number(),
  create: z.number(),
  update: z.number(),
  unchanged: z.number(),
  error: z.number(),
  columns: z.array(z.string()),
  ignoredColumns: z.array(z.string()),
  unknownColumns: z.array(z.string()),
  notes: z.array(z.string()),
});

const resultOutput = z.object({
  created: z.number(),
  updated: z.number(),
  unchanged: z.number(),
  skipped: z.number(),
  deactivated: z.number(),
  reactivated: z.number(),
  roleChanged: z.number(),
  sessionsEnded: z.number(),
  apiKeysRevoked: z.number(),
});

export const importOutput = z.object({
  id: z.string(),
  accountId: z.string(),
  fileName: z.string().nullable(),
  status: z.enum(['previewed', 'applied']),
  summary: summaryOutput,
  createdAt: z.date(),
  expiresAt: z.date(),
  appliedAt: z.date().nullable(),
  result: resultOutput.nullable(),
  /** While an apply runs on this server: how many of its changes are done. */
  progress: z.object({ done: z.number(), total: z.number() }).nullable(),
});

const changeValue = z.union([z.string(), z.boolean(), z.null()]);
const importRowOutput = z.object({
  line: z.number(),
  verdict: verdictSchema,
  email: z.string(),
  userId: z.string().nullable(),
  changes: z.object({ before: z.record(z.string(), changeValue), after: z.record(z.string(), changeValue) }).nullable(),
  /** What a new user gets (create). */
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  role: z.enum(['admin', 'user']).nullable(),
  active: z.boolean().nullable(),
  error: z.string().nullable(),
});

function decodeRowCursor(cursor: string | undefined) {
  if (!cursor) return undefined;
  const match = /^([0-3]):(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw appError('INVALID_CURSOR', 'The cursor is not valid; start from the first page.');
  return { rank: Number(match[1]), line: Number(match[2]) };
}

export const importsRouter = router({
  get: adminProcedure
    .input(z.object({ id: idSchema }))
    .output(importOutput)
    .query(({ ctx, input }) => getImport(ctx.db, ctx.actor, input.id)),

  /** The preview's rows: errors first, then creates, updates and unchanged, each in file order. */
  rows: adminProcedure
    .input(
      z.object({
        id: idSchema,
        verdict: verdictSchema.optional(),
        cursor: cursorSchema,
        limit: z.number().int().min(1).max(1000).default(200),
      }),
    )
    .output(z.object({ items: z.array(importRowOutput), nextCursor: z.string().nullable() }))
    .query(async ({ ctx, input }) => {
      const found = await findImport(ctx.db, ctx.actor.organizationId, input.id);
      if (!found) throw appError('NOT_FOUND', 'No such import.');
      const rows = await importRowsPage(ctx.db, input.id, {
        verdict: input.verdict,
        after: decodeRowCursor(input.cursor),
        limit: input.limit,
      });
      const hasMore = rows.length > input.limit;
      const items = hasMore ? rows.slice(0, input.limit) : rows;
      const last = items.at(-1);
      return {
        items: items.map(({ rank: _, changes, ...row }) => ({
          ...row,
          changes: (changes as z.infer<typeof importRowOutput>['changes']) ?? null,
        })),
        nextCursor: hasMore && last ? Buffer.from(`${Number(last.rank)}:${last.line}`).toString('base64url') : null,
      };
    }),

  // (`apply` is a reserved word of tRPC routers.)
  commit: adminProcedure
    .input(z.object({ id: idSchema, skipErrors: z.boolean().default(false) }))
    .output(resultOutput)
    .mutation(({ ctx, input }) =>
      applyUserImport(ctx.db, ctx.actor, { importId: input.id, skipErrors: input.skipErrors }),
    ),
});
