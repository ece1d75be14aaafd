// Vitest config of the interop producer step only (scripts/interop.mjs runs it); the unit and
// workerd projects live in the root vitest.config.ts.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    include: ["test/python/**/*.interop.test.ts"],
    environment: "node",
    testTimeout: 120_000,
  },
});
