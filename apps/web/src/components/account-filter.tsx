import { useEffect, useId, useState } from 'react';
import { trpc } from '../trpc';

/**
 * The account filter: type part of an account's name, then pick it (or type it
 * whole). It asks the server for the accounts that match, so it works in an
 * organization of any number of accounts. Empty means every account.
 */
export function AccountFilter({
  accountId,
  onChange,
  label = 'Account',
  placeholder = 'All accounts',
}: {
  accountId: string | undefined;
  onChange: (accountId: string | undefined) => void;
  label?: string;
  placeholder?: string;
}) {
  const id = useId();
  const listId = useId();
  const selected = trpc.accounts.names.useQuery({ ids: accountId ? [accountId] : [] }, { enabled: Boolean(accountId) });
  const selectedName = accountId ? selected.data?.[0]?.name : '';
  const [text, setText] = useState(selectedName ?? '');
  const [edited, setEdited] = useState(false);
  const [query, setQuery] = useState('');

  // Show the chosen account's name when it comes from outside (a link, Clear filters).
  useEffect(() => {
    if (selectedName !== undefined) {
      setText(selectedName);
      setEdited(false);
    }
  }, [selectedName]);

  // Ask for matching names once typing pauses.
  useEffect(() => {
    const timer = window.setTimeout(() => setQuery(text.trim()), 200);
    return () => window.clearTimeout(timer);
  }, [text]);
  const options = trpc.accounts.list.useQuery(
    { query: query || undefined, limit: 20 },
    { placeholderData: (previous) => previous, staleTime: 30_000 },
  );

  // A name typed or picked whole chooses its account; anything else (or nothing) chooses none.
  useEffect(() => {
    if (!edited) return;
    const wanted = text.trim().toLowerCase();
    const match = wanted ? options.data?.items.find((account) => account.name.toLowerCase() === wanted) : undefined;
    if (match) {
      if (match.id !== accountId) onChange(match.id);
    } else if (accountId && (!wanted || options.data)) {
      onChange(undefined);
    }
  }, [edited, text, options.data, accountId, onChange]);

  return (
    <div className="filter">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="search"
        list={listId}
        autoComplete="off"
        placeholder={placeholder}
        value={text}
        onChange={(event) => {
          setText(event.target.value);
          setEdited(true);
        }}
      />
      <datalist id={listId}>
        {(options.data?.items ?? []).map((account) => (
          <option key={account.id} value={account.name} />
        ))}
      </datalist>
    </div>
  );
}
