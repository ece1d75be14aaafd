// Vitest config of the iceberg-js interop test only (test/interop/run.mjs runs it against a live
// DoLake); not part of `npm test`, whose projects live in the root vitest.config.ts.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  root: fileURLToPath(new URL("../../..", import.meta.url)),
  test: {
    include: ["test/interop/iceberg-js/**/*.test.ts"],
    environment: "node",
    // One file, tests in order: each builds on the previous one's namespace and tables.
    sequence: { concurrent: false },
    testTimeout: 60_000,
  },
});
