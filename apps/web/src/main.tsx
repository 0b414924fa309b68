import { QueryClientProvider } from '@tanstack/react-query';
import { RouterProvider } from '@tanstack/react-router';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ToastProvider } from './components/toast';
import { createQueryClient } from './query-client';
import { createAppRouter } from './router';
import { createTrpcClient, trpc } from './trpc';
import './styles.css';

const queryClient = createQueryClient();
const trpcClient = createTrpcClient();
const router = createAppRouter(queryClient);

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <trpc.Provider client={trpcClient} queryClient={queryClient}>
        <QueryClientProvider client={queryClient}>
          <ToastProvider>
            <RouterProvider router={router} />
          </ToastProvider>
        </QueryClientProvider>
      </trpc.Provider>
    </StrictMode>,
  );
}
