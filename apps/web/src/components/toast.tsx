import { createContext, type ReactNode, useCallback, useContext, useMemo, useRef, useState } from 'react';

type Toast = { id: number; message: string };
type ToastApi = { show: (message: string) => void };

const ToastContext = createContext<ToastApi>({ show: () => {} });

/** Short confirmations of success, announced politely and gone after a few seconds. */
export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const nextId = useRef(1);
  const dismiss = useCallback((id: number) => setToasts((all) => all.filter((toast) => toast.id !== id)), []);
  const show = useCallback(
    (message: string) => {
      const id = nextId.current++;
      setToasts((all) => [...all.slice(-2), { id, message }]);
      window.setTimeout(() => dismiss(id), 5_000);
    },
    [dismiss],
  );
  const api = useMemo(() => ({ show }), [show]);
  return (
    <ToastContext.Provider value={api}>
      {children}
      <section className="toasts" aria-label="Notifications" aria-live="polite" role="status">
        {toasts.map((toast) => (
          <div key={toast.id} className="toast">
            <span className="toast-icon" aria-hidden="true">
              ✓
            </span>
            <span className="toast-message">{toast.message}</span>
            <button type="button" className="toast-close" aria-label="Dismiss" onClick={() => dismiss(toast.id)}>
              ×
            </button>
          </div>
        ))}
      </section>
    </ToastContext.Provider>
  );
}

export const useToast = () => useContext(ToastContext);
