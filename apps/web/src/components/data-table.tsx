import {
  type Cell,
  type ColumnDef,
  createColumnHelper,
  flexRender,
  type Row,
  type RowData,
  tableFeatures,
  useTable,
} from '@tanstack/react-table';
import { memo, type ReactNode, useEffect, useId, useRef } from 'react';
import { formatDateTime } from '../lib/format';
import { type PageSize, pageSizes, setPageSize } from '../lib/page-size';

/** No optional features: the console's lists are sorted, filtered and paged by the server. */
export const tableFeatureSet = tableFeatures({});
type Features = typeof tableFeatureSet;

export const columnsFor = <T extends RowData>() => createColumnHelper<Features, T>();

// biome-ignore lint/suspicious/noExplicitAny: a column's value type differs per column; TanStack's own helper types use any here.
export type Columns<T extends RowData> = Array<ColumnDef<Features, T, any>>;

/**
 * A readable, accessible table on wide screens that turns into one card per row
 * on phones (each cell then shows its column's name). Columns have fixed widths
 * (see the stylesheet), so no value, however long, pushes the others out of view.
 *
 * A row renders again only when its own data or the columns change: showing
 * more rows renders the new ones, not the thousand already on screen.
 */
export function DataTable<T extends { id: string }>({
  columns,
  data,
  caption,
  footer,
  ariaSort,
  headerOf,
}: {
  columns: Columns<T>;
  data: T[];
  caption: string;
  footer?: ReactNode;
  /** For a table the server sorts: each sortable column's aria-sort (undefined: the column does not sort). */
  ariaSort?: (columnId: string) => 'ascending' | 'descending' | 'none' | undefined;
  /** A header of the table's own (e.g. a sort button) for a column whose header is `label`; undefined: the label. */
  headerOf?: (columnId: string, label: string) => ReactNode | undefined;
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
                <th
                  key={header.id}
                  scope="col"
                  className={`col-${header.column.id}`}
                  aria-sort={ariaSort?.(header.column.id)}
                >
                  {header.isPlaceholder
                    ? null
                    : (headerOf?.(header.column.id, String(header.column.columnDef.header ?? '')) ?? (
                        <table.FlexRender header={header} />
                      ))}
                </th>
              ))}
            </tr>
          ))}
        </thead>
        <tbody>
          {table.getRowModel().rows.map((row) => (
            <TableRow key={row.id} row={row} original={row.original} columns={columns} />
          ))}
        </tbody>
      </table>
      {footer}
    </div>
  );
}

type RowProps<T extends RowData> = { row: Row<Features, T>; original: T; columns: Columns<T> };

/** One row; `original` and `columns` decide whether it must render again (the row object is new each time). */
const TableRow = memo(
  function TableRow<T extends RowData>({ row }: RowProps<T>) {
    return (
      <tr>
        {row.getAllCells().map((cell: Cell<Features, T, unknown>) => {
          const header = cell.column.columnDef.header;
          return (
            <td
              key={cell.id}
              className={`col-${cell.column.id}`}
              data-label={typeof header === 'string' ? header : undefined}
            >
              {flexRender(cell.column.columnDef.cell, cell.getContext())}
            </td>
          );
        })}
      </tr>
    );
  },
  (before, after) => before.original === after.original && before.columns === after.columns,
) as <T extends RowData>(props: RowProps<T>) => ReactNode;

/**
 * The list's footer: how many rows are shown (of how many, when that is known),
 * Show more for the next page, and how many rows a page brings.
 */
export function MoreRows({
  shown,
  total,
  noun,
  hasMore,
  loading,
  onMore,
  pageSize,
}: {
  shown: number;
  total?: number | undefined;
  noun: [string, string];
  hasMore: boolean;
  loading: boolean;
  onMore: () => void;
  pageSize?: PageSize | undefined;
}) {
  const footer = useRef<HTMLDivElement>(null);
  const sizeId = useId();
  const shownBefore = useRef<number | null>(null);

  // The last Show more disappears with its page: focus goes on to the first row it brought,
  // where reading continues, rather than falling back to the top of the page.
  useEffect(() => {
    const before = shownBefore.current;
    if (before === null || shown <= before || loading) return;
    shownBefore.current = null;
    if (hasMore) return;
    if (document.activeElement && document.activeElement !== document.body) return;
    const rows = footer.current?.closest('.table-wrap')?.querySelectorAll('tbody tr');
    const target = rows?.[before]?.querySelector<HTMLElement>('a, button') ?? footer.current?.querySelector('output');
    target?.focus();
  }, [shown, hasMore, loading]);

  const counted = `${shown === 1 ? noun[0] : noun[1]}`;
  const status = hasMore
    ? total !== undefined
      ? `Showing ${shown} of ${total} ${total === 1 ? noun[0] : noun[1]}`
      : `Showing the first ${shown} ${noun[1]}`
    : `${shown} ${counted}`;
  return (
    <div className="table-footer" ref={footer}>
      <output className="muted" aria-live="polite" tabIndex={-1}>
        {status}
      </output>
      <div className="table-footer-actions">
        {hasMore && (
          <button
            type="button"
            className="btn btn-small"
            onClick={() => {
              shownBefore.current = shown;
              onMore();
            }}
            disabled={loading}
          >
            {loading ? 'Loading…' : 'Show more'}
          </button>
        )}
        {pageSize !== undefined && (
          <span className="page-size">
            <label htmlFor={sizeId}>Per page</label>
            <select
              id={sizeId}
              value={pageSize}
              onChange={(event) => {
                const size = pageSizes.find((option) => option === Number(event.target.value));
                if (size) setPageSize(size);
              }}
            >
              {pageSizes.map((size) => (
                <option key={size} value={size}>
                  {size}
                </option>
              ))}
            </select>
          </span>
        )}
      </div>
    </div>
  );
}

/** A date and time that may never have happened (last used, last sign-in): "Never" when there is none. */
export function DateTimeOrNever({ value }: { value: Date | null | undefined }) {
  return value ? formatDateTime(value) : <span className="muted">Never</span>;
}
