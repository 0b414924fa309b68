import { type ReactNode, useState } from 'react';
import { ConfirmDialog } from './confirm-dialog';

/** What RevokeButton needs of a revoke mutation (tRPC's `useMutation` result). */
type RevokeMutation<I> = {
  mutate: (input: I, options: { onSuccess: () => void }) => void;
  isPending: boolean;
  error: unknown;
  reset: () => void;
};

/**
 * A row's Revoke, for a secret scripts or an identity provider hold (an API
 * key, a SCIM connection): asks first, says what stops working, and closes once
 * it is revoked, before `onRevoked` tells so and refreshes.
 */
export function RevokeButton<I>({
  name,
  title,
  confirmLabel,
  revoke,
  input,
  onRevoked,
  children,
}: {
  /** The revoked thing's name: the button's accessible name is "Revoke <name>". */
  name: string;
  title: string;
  confirmLabel: string;
  revoke: RevokeMutation<I>;
  input: I;
  onRevoked: () => Promise<unknown>;
  children: ReactNode;
}) {
  const [open, setOpen] = useState(false);
  return (
    <ConfirmDialog
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (!next) revoke.reset();
      }}
      title={title}
      confirmLabel={confirmLabel}
      danger
      pending={revoke.isPending}
      error={revoke.error}
      onConfirm={() =>
        revoke.mutate(input, {
          onSuccess: () => {
            setOpen(false);
            void onRevoked();
          },
        })
      }
      trigger={
        <button type="button" className="btn btn-small btn-danger-quiet" aria-label={`Revoke ${name}`}>
          Revoke
        </button>
      }
    >
      {children}
    </ConfirmDialog>
  );
}
