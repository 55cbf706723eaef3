import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (p: string) => fileURLToPath(new URL(`./src/${p}`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests, examples and the library itself must share one copy of the library (one AsyncLocalStorage,
    // one set of classes): map the package's own name to the TypeScript sources.
    alias: [
      { find: /^asyncio-ts\/testing$/, replacement: src("testing/index.ts") },
      { find: /^asyncio-ts\/tracing$/, replacement: src("tracing/index.ts") },
      { find: /^asyncio-ts$/, replacement: src("index.ts") },
    ],
  },
  test: {
    include: ["test/**/*.test.ts", "conformance/**/*.test.ts"],
    testTimeout: 30_000,
    pool: "forks",
  },
});
