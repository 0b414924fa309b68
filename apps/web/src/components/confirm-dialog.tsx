import { type ReactNode, useRef } from 'react';
import { errorMessage } from '../lib/errors';
import { FormError } from './field';
import { DialogClose, Modal } from './modal';

/**
 * Asks before something that matters. Focus starts on Cancel, so Enter never
 * confirms by accident; a refusal from the server is shown inside the dialog.
 */
export function ConfirmDialog({
  open,
  onOpenChange,
  title,
  children,
  confirmLabel,
  danger = false,
  pending,
  error,
  onConfirm,
  trigger,
  onCloseAutoFocus,
  options,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  pending: boolean;
  error: unknown;
  onConfirm: () => void;
  trigger?: ReactNode;
  onCloseAutoFocus?: (event: Event) => void;
  /** Choices that go with the confirmation (a checkbox), under the description. */
  options?: ReactNode;
}) {
  const cancelRef = useRef<HTMLButtonElement>(null);
  return (
    <Modal
      open={open}
      onOpenChange={onOpenChange}
      title={title}
      description={children}
      role="alertdialog"
      size="small"
      trigger={trigger}
      onCloseAutoFocus={onCloseAutoFocus}
      onOpenAutoFocus={(event) => {
        event.preventDefault();
        cancelRef.current?.focus();
      }}
    >
      {options}
      <FormError>{error ? errorMessage(error) : null}</FormError>
      <div className="dialog-actions">
        <DialogClose asChild>
          <button type="button" className="btn" ref={cancelRef}>
            Cancel
          </button>
        </DialogClose>
        <button
          type="button"
          className={danger ? 'btn btn-danger' : 'btn btn-primary'}
          onClick={onConfirm}
          disabled={pending}
        >
          {pending ? 'Working…' : confirmLabel}
        </button>
      </div>
    </Modal>
  );
}
