import { useMemo, useRef } from 'react';
import { trpc } from '../trpc';

/**
 * Names of the accounts a page shows, by id: one `accounts.names` call per
 * group (a page of a list, so what is already loaded is not asked again when
 * the next page comes). An organization may hold thousands of accounts; this
 * asks only for those on screen.
 */
export function useAccountNames(groups: ReadonlyArray<ReadonlyArray<string>>): Map<string, string> {
  const keys = groups.map((ids) => [...new Set(ids)].sort().slice(0, 100)).filter((ids) => ids.length > 0);
  const results = trpc.useQueries((t) => keys.map((ids) => t.accounts.names({ ids }, { staleTime: 60_000 })));
  // A new map only when an answer changes, so tables keyed on it do not rebuild at every render.
  const version = results.map((result) => result.dataUpdatedAt).join(',');
  const latest = useRef(results);
  latest.current = results;
  // `version` says when the answers change; `latest` holds them.
  return useMemo(
    () => new Map(latest.current.flatMap((result) => (result.data ?? []).map((a) => [a.id, a.name] as const))),
    [version],
  );
}
