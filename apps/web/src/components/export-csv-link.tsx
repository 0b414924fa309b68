import { type UserFilterInput, usersExportUrl } from '@roster/api/schemas';

/**
 * **Export CSV**: a plain link to the server's export of these filters, so the
 * browser streams the file straight to disk (a million users never pass
 * through this page's memory) and shows its own download progress. The
 * session cookie goes with it; the server takes it only from this origin's
 * own pages (Sec-Fetch-Site).
 */
export function ExportCsvLink({ filter, description }: { filter: UserFilterInput; description: string }) {
  return (
    <a className="btn" href={usersExportUrl(filter)} download title={description}>
      Export CSV
    </a>
  );
}
