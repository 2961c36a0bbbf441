import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

/** The web UI: sources in src/web, built to dist/web, served by the API at `/`. */
const root = fileURLToPath(new URL(".", import.meta.url));
const api = process.env.NOCBRIDGE_API_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  root,
  base: "/",
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL("../../dist/web", import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
    target: "es2022",
  },
  // `npm run dev:web`: the UI with hot reload, the API proxied to a running `npm start` / `npm run dev`.
  server: {
    proxy: {
      "/api": { target: api, changeOrigin: false },
      "/openapi.json": api,
    },
  },
});
