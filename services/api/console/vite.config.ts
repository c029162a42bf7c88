import { resolve } from "node:path";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The console is served by the API at / (same origin, so no CORS and no proxy in production).
// `npm run dev` style use: `vite --config services/api/console/vite.config.ts` with the API on 8080.
export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  plugins: [react()],
  build: {
    outDir: resolve(import.meta.dirname, "dist"),
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
  },
  server: {
    proxy: {
      "/v1": "http://127.0.0.1:8080",
      "/v2": "http://127.0.0.1:8080",
      "/api": "http://127.0.0.1:8080",
    },
  },
});
