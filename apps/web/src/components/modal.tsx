import * as Dialog from '@radix-ui/react-dialog';
import type { ReactNode } from 'react';

/**
 * A dialog with a title and an optional description. Radix traps focus inside
 * it, closes on Escape, and returns focus to what opened it.
 */
export function Modal({
  open,
  onOpenChange,
  title,
  description,
  children,
  trigger,
  role = 'dialog',
  onOpenAutoFocus,
  onCloseAutoFocus,
  size = 'normal',
}: {
  open?: boolean;
  onOpenChange?: (open: boolean) => void;
  title: string;
  description?: ReactNode;
  children: ReactNode;
  trigger?: ReactNode;
  role?: 'dialog' | 'alertdialog';
  onOpenAutoFocus?: (event: Event) => void;
  onCloseAutoFocus?: (event: Event) => void;
  size?: 'normal' | 'small';
}) {
  return (
    <Dialog.Root open={open} onOpenChange={onOpenChange}>
      {trigger && <Dialog.Trigger asChild>{trigger}</Dialog.Trigger>}
      <Dialog.Portal>
        <Dialog.Overlay className="dialog-overlay" />
        <Dialog.Content
          className={`dialog dialog-${size}`}
          role={role}
          onOpenAutoFocus={onOpenAutoFocus}
          onCloseAutoFocus={onCloseAutoFocus}
          {...(description ? {} : { 'aria-describedby': undefined })}
        >
          <Dialog.Title className="dialog-title">{title}</Dialog.Title>
          {description && <Dialog.Description className="dialog-description">{description}</Dialog.Description>}
          {children}
          <Dialog.Close className="dialog-x" aria-label="Close">
            ×
          </Dialog.Close>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

export const DialogClose = Dialog.Close;

/**
 * A form dialog's buttons: Cancel, which closes it, and the submit button,
 * disabled while the form is sent (and saying so, with `busyLabel`).
 */
export function FormDialogActions({
  submitLabel,
  busy,
  busyLabel,
}: {
  submitLabel: string;
  busy: boolean;
  busyLabel?: string;
}) {
  return (
    <div className="dialog-actions">
      <Dialog.Close asChild>
        <button type="button" className="btn">
          Cancel
        </button>
      </Dialog.Close>
      <button type="submit" className="btn btn-primary" disabled={busy}>
        {busy && busyLabel ? busyLabel : submitLabel}
      </button>
    </div>
  );
}
