import { type ReactNode, useState } from 'react';
import { DialogClose, Modal } from './modal';

/**
 * A dialog that creates something with a secret (an API key, a SCIM
 * connection), then shows the secret this once. The secret is forgotten once
 * the dialog closes: it is never shown again.
 */
export function CreateThenShowOnce<T>({
  label,
  title,
  shownTitle,
  description,
  form,
  shown,
}: {
  /** The trigger's label. */
  label: string;
  title: string;
  /** The dialog's title while the secret is shown. */
  shownTitle: string;
  description: string;
  form: (onCreated: (created: T) => void) => ReactNode;
  shown: (created: T) => ReactNode;
}) {
  const [open, setOpen] = useState(false);
  const [created, setCreated] = useState<T | null>(null);
  return (
    <Modal
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (!next) setCreated(null);
      }}
      title={created ? shownTitle : title}
      description={created ? undefined : description}
      trigger={
        <button type="button" className="btn btn-primary">
          {label}
        </button>
      }
    >
      {open && (created ? shown(created) : form(setCreated))}
    </Modal>
  );
}

/**
 * A secret shown this once (a new API key, a SCIM token): a warning that it
 * will not be shown again, what to do with it, its fields to copy, and Done.
 */
export function SecretOnce({ warning, children, fields }: { warning: string; children: ReactNode; fields: ReactNode }) {
  return (
    <div className="form">
      <div className="alert alert-warning" role="alert">
        <p className="alert-title">{warning}</p>
        <p>{children}</p>
      </div>
      {fields}
      <div className="dialog-actions">
        <DialogClose asChild>
          <button type="button" className="btn btn-primary">
            Done
          </button>
        </DialogClose>
      </div>
    </div>
  );
}

/** A read-only value with a Copy button, which says whether copying worked (`failed`: what to do when not). */
export function CopyField({
  id,
  label,
  value,
  copyLabel,
  failed,
}: {
  id: string;
  label: string;
  value: string;
  /** The Copy button's accessible name, when "Copy" alone does not say what it copies. */
  copyLabel?: string;
  failed: string;
}) {
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied('yes');
    } catch {
      setCopied('failed');
    }
  };
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <div className="secret-row">
        <input id={id} className="secret" readOnly value={value} onFocus={(event) => event.currentTarget.select()} />
        <button type="button" className="btn" onClick={() => void copy()} aria-label={copyLabel}>
          Copy
        </button>
      </div>
      <p className="field-hint" aria-live="polite">
        {copied === 'yes' ? 'Copied to the clipboard.' : copied === 'failed' ? failed : ''}
      </p>
    </div>
  );
}
