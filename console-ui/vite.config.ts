// Vite builds the UI into dist/, which the console embeds (rust-embed).
// `npm run dev` serves the UI with hot reload and proxies the API to a
// console running locally (RAMPART_CONSOLE_URL, default https://127.0.0.1:8443;
// its certificate is self-signed, so the proxy does not verify it).
import { defineConfig } from "vite";

// Node's global, declared here rather than pulling in @types/node for one line.
declare const process: { env: Record<string, string | undefined> };

const target = process.env.RAMPART_CONSOLE_URL ?? "https://127.0.0.1:8443";
const proxied = { target, changeOrigin: true, secure: false };

export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // Hashed names under assets/: the console serves them as immutable.
    assetsDir: "assets",
    // No inline polyfill script: the Content-Security-Policy forbids inline code.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    target: "es2022",
  },
  server: {
    proxy: {
      "/api": proxied,
      "/healthz": proxied,
      "/metrics": proxied,
    },
  },
});
