import { Link } from '@tanstack/react-router';
import type { ReactNode } from 'react';
import { errorCode, errorMessage } from '../lib/errors';

/** Something is on its way; announced to screen readers once. */
export function Spinner({ label = 'Loading…', page = false }: { label?: string; page?: boolean }) {
  return (
    <div className={page ? 'loading loading-page' : 'loading'} role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span>{label}</span>
    </div>
  );
}

/** A failed load, with its reason and a way to try again. */
export function ErrorState({
  error,
  onRetry,
  title = 'This could not be loaded',
}: {
  error: unknown;
  onRetry?: () => void;
  title?: string;
}) {
  return (
    <div className="alert alert-error" role="alert">
      <p className="alert-title">{title}</p>
      <p>{errorMessage(error)}</p>
      {onRetry && (
        <button type="button" className="btn btn-small" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** Nothing to show yet, and what to do about it. */
export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty-title">{title}</p>
      {children && <div className="empty-body">{children}</div>}
    </div>
  );
}

/**
 * What a page shows when the thing it is about could not be loaded: gone (not
 * found, or an address with a malformed id), with a way back; or a failure to try again.
 */
export function LoadFailed({
  error,
  onRetry,
  gone,
  back,
}: {
  error: unknown;
  onRetry: () => void;
  /** What is said when it is gone. */
  gone: string;
  /** Where to go instead. */
  back: ReactNode;
}) {
  const code = errorCode(error);
  return code === 'NOT_FOUND' || code === 'BAD_REQUEST' ? (
    <EmptyState title={gone}>{back}</EmptyState>
  ) : (
    <ErrorState error={error} onRetry={onRetry} />
  );
}

/** An account page's account that could not be loaded. */
export function AccountLoadFailed({ error, onRetry }: { error: unknown; onRetry: () => void }) {
  return (
    <LoadFailed
      error={error}
      onRetry={onRetry}
      gone="This account does not exist, or it was deleted."
      back={<Link to="/security/accounts">Back to all accounts</Link>}
    />
  );
}
