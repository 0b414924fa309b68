import * as Dialog from '@radix-ui/react-dialog';
import { createContext, type ReactNode, useCallback, useContext, useEffect, useRef, useState } from 'react';

/** Lets a form inside a Modal say it holds changes that closing would lose. */
const DirtyContext = createContext<(dirty: boolean) => void>(() => {});

/** Call from a form in a dialog: while `dirty`, Escape and a click outside ask before closing. */
export function useDirtyDialog(dirty: boolean): void {
  const setDirty = useContext(DirtyContext);
  useEffect(() => setDirty(dirty), [dirty, setDirty]);
  useEffect(() => () => setDirty(false), [setDirty]);
}

/**
 * A dialog with a title and an optional description. Radix traps focus inside
 * it, closes on Escape, and returns focus to what opened it. When its form holds
 * changes, Escape or a click outside first asks whether to discard them.
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
  const dirty = useRef(false);
  const [asking, setAsking] = useState(false);
  const setDirty = useCallback((value: boolean) => {
    dirty.current = value;
    if (!value) setAsking(false);
  }, []);
  const keepEditing = useRef<HTMLButtonElement>(null);
  // Without a trigger (a dialog opened from a row's button or a menu), focus returns to
  // whatever had it when the dialog opened: Radix would only return it to a trigger.
  const opener = useRef<HTMLElement | null>(null);
  if (open && opener.current === null && !trigger && typeof document !== 'undefined') {
    opener.current = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  }
  if (!open) opener.current = null;
  useEffect(() => {
    if (asking) keepEditing.current?.focus();
  }, [asking]);
  useEffect(() => {
    if (!open) setAsking(false);
  }, [open]);

  /** Escape or a click outside: closes at once, unless typing would be lost. */
  const askFirst = (event: Event) => {
    if (!dirty.current) return;
    event.preventDefault();
    setAsking((already) => !already);
  };

  return (
    <Dialog.Root open={open} onOpenChange={onOpenChange}>
      {trigger && <Dialog.Trigger asChild>{trigger}</Dialog.Trigger>}
      <Dialog.Portal>
        <Dialog.Overlay className="dialog-overlay" />
        <Dialog.Content
          className={`dialog dialog-${size}`}
          role={role}
          onOpenAutoFocus={onOpenAutoFocus}
          onCloseAutoFocus={(event) => {
            onCloseAutoFocus?.(event);
            const back = opener.current;
            if (event.defaultPrevented || trigger || !back?.isConnected) return;
            event.preventDefault();
            back.focus();
          }}
          onEscapeKeyDown={askFirst}
          onPointerDownOutside={askFirst}
          {...(description ? {} : { 'aria-describedby': undefined })}
        >
          <Dialog.Title className="dialog-title">{title}</Dialog.Title>
          {description && <Dialog.Description className="dialog-description">{description}</Dialog.Description>}
          {asking && (
            <div className="alert alert-warning" role="alert">
              <p className="alert-title">Discard your changes?</p>
              <p>What you typed in this dialog has not been saved.</p>
              <div className="alert-actions">
                <button type="button" className="btn btn-small" ref={keepEditing} onClick={() => setAsking(false)}>
                  Keep editing
                </button>
                <button
                  type="button"
                  className="btn btn-small btn-danger-quiet"
                  onClick={() => {
                    setAsking(false);
                    onOpenChange?.(false);
                  }}
                >
                  Discard changes
                </button>
              </div>
            </div>
          )}
          <DirtyContext.Provider value={setDirty}>{children}</DirtyContext.Provider>
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
