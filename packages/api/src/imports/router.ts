import { z } from 'zod';
import { appError } from '../errors.js';
import { importOutput, importResultOutput, importRowOutput, importVerdictSchema, pageOf } from '../shared/outputs.js';
import { cursorSchema, idSchema } from '../shared/schemas.js';
import { accountManageProcedure, accountReadProcedure, router } from '../trpc.js';
import { importRowsPage } from './queries.js';
import { applyUserImport, getImport } from './service.js';

// CSV imports of users. The preview is made by uploading the file to
// POST /import/users (apps/server: a CSV body, not JSON); these procedures read
// the stored preview, page through its rows and apply it.

function decodeRowCursor(cursor: string | undefined) {
  if (!cursor) return undefined;
  const match = /^([0-3]):(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw appError('INVALID_CURSOR', 'The cursor is not valid; start from the first page.');
  return { rank: Number(match[1]), line: Number(match[2]) };
}

export const importsRouter = router({
  get: accountReadProcedure
    .input(z.object({ id: idSchema }))
    .output(importOutput)
    .query(({ ctx, input }) => getImport(ctx.db, ctx.actor, input.id)),

  /** The preview's rows: errors first, then creates, updates and unchanged, each in file order. */
  rows: accountReadProcedure
    .input(
      z.object({
        id: idSchema,
        verdict: importVerdictSchema.optional(),
        cursor: cursorSchema,
        limit: z.number().int().min(1).max(1000).default(200),
      }),
    )
    .output(pageOf(importRowOutput))
    .query(async ({ ctx, input }) => {
      await getImport(ctx.db, ctx.actor, input.id);
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
  commit: accountManageProcedure
    .input(z.object({ id: idSchema, skipErrors: z.boolean().default(false) }))
    .output(importResultOutput)
    .mutation(({ ctx, input }) =>
      applyUserImport(ctx.db, ctx.actor, { importId: input.id, skipErrors: input.skipErrors }, ctx.mail),
    ),
});
