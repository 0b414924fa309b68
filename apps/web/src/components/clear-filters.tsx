import { useNavigate } from '@tanstack/react-router';

/** Clears a list page's filters (its whole search but `keep`, e.g. the order), shown while any is set. */
export function ClearFilters({ filtered, keep = {} }: { filtered: boolean; keep?: Record<string, unknown> }) {
  const navigate = useNavigate();
  if (!filtered) return null;
  return (
    <button
      type="button"
      className="btn btn-quiet"
      onClick={() => void navigate({ to: '.', search: keep, replace: true })}
    >
      Clear filters
    </button>
  );
}
