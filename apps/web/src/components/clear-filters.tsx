import { useNavigate } from '@tanstack/react-router';

/** Clears a list page's filters (its whole search), shown while any is set. */
export function ClearFilters({ filtered }: { filtered: boolean }) {
  const navigate = useNavigate();
  if (!filtered) return null;
  return (
    <button
      type="button"
      className="btn btn-quiet"
      onClick={() => void navigate({ to: '.', search: {}, replace: true })}
    >
      Clear filters
    </button>
  );
}
