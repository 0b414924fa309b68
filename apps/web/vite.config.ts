import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [react()],
  // The manifest lets scripts/report-size.mjs find the entry chunk and its static imports.
  build: { manifest: true, sourcemap: false },
  server: { proxy: { '/trpc': 'http://127.0.0.1:3000', '/export': 'http://127.0.0.1:3000' } },
});
