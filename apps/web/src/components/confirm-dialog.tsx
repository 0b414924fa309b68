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
  extra,
  confirmDisabled = false,
  cancelLabel = 'Cancel',
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
  /** More than words: e.g. a field to type a name into before confirming. */
  extra?: ReactNode;
  confirmDisabled?: boolean;
  cancelLabel?: string;
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
      {extra}
      <FormError>{error ? errorMessage(error) : null}</FormError>
      <div className="dialog-actions">
        <DialogClose asChild>
          <button type="button" className="btn" ref={cancelRef}>
            {cancelLabel}
          </button>
        </DialogClose>
        <button
          type="button"
          className={danger ? 'btn btn-danger' : 'btn btn-primary'}
          onClick={onConfirm}
          disabled={pending || confirmDisabled}
        >
          {pending ? 'Working…' : confirmLabel}
        </button>
      </div>
    </Modal>
  );
}
