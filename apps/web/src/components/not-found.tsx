import { Link } from '@tanstack/react-router';
import { useTitle } from '../lib/title';

export function NotFoundPage() {
  useTitle('Page not found');
  return (
    <main className="page page-narrow" id="main">
      <h1>Page not found</h1>
      <p className="muted">There is no page at this address. It may have moved, or the link is mistyped.</p>
      <p>
        <Link to="/" className="btn btn-primary">
          Go to the console
        </Link>
      </p>
    </main>
  );
}
