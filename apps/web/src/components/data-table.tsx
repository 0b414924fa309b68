import { type ColumnDef, createColumnHelper, type RowData, tableFeatures, useTable } from '@tanstack/react-table';
import type { ReactNode } from 'react';

/** No optional features: the console's lists are sorted, filtered and paged by the server. */
export const tableFeatureSet = tableFeatures({});
type Features = typeof tableFeatureSet;

export const columnsFor = <T extends RowData>() => createColumnHelper<Features, T>();

// biome-ignore lint/suspicious/noExplicitAny: a column's value type differs per column; TanStack's own helper types use any here.
export type Columns<T extends RowData> = Array<ColumnDef<Features, T, any>>;

/**
 * A readable, accessible table on wide screens that turns into one card per row
 * on phones (each cell then shows its column's name).
 */
export function DataTable<T extends { id: string }>({
  columns,
  data,
  caption,
  footer,
}: {
  columns: Columns<T>;
  data: T[];
  caption: string;
  footer?: ReactNode;
}) {
  const table = useTable({ features: tableFeatureSet, columns, data, getRowId: (row) => row.id });
  return (
    <div className="table-wrap">
      <table className="data-table">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          {table.getHeaderGroups().map((group) => (
            <tr key={group.id}>
              {group.headers.map((header) => (
                <th key={header.id} scope="col" className={`col-${header.column.id}`}>
                  {header.isPlaceholder ? null : <table.FlexRender header={header} />}
                </th>
              ))}
            </tr>
          ))}
        </thead>
        <tbody>
          {table.getRowModel().rows.map((row) => (
            <tr key={row.id}>
              {row.getAllCells().map((cell) => {
                const header = cell.column.columnDef.header;
                return (
                  <td
                    key={cell.id}
                    className={`col-${cell.column.id}`}
                    data-label={typeof header === 'string' ? header : undefined}
                  >
                    <table.FlexRender cell={cell} />
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      {footer}
    </div>
  );
}

/** "Show more" for keyset-paginated lists, with the count so far. */
export function MoreRows({
  shown,
  noun,
  hasMore,
  loading,
  onMore,
}: {
  shown: number;
  noun: [string, string];
  hasMore: boolean;
  loading: boolean;
  onMore: () => void;
}) {
  return (
    <div className="table-footer">
      <span className="muted" aria-live="polite">
        {hasMore ? `Showing the first ${shown} ${noun[1]}` : `${shown} ${shown === 1 ? noun[0] : noun[1]}`}
      </span>
      {hasMore && (
        <button type="button" className="btn btn-small" onClick={onMore} disabled={loading}>
          {loading ? 'Loading…' : 'Show more'}
        </button>
      )}
    </div>
  );
}
