// Two projects: "unit" runs pure logic in Node (codecs, transforms, schema inference, and the
// checks that need Node-only readers such as avsc); "workerd" runs everything that touches
// Durable Objects, WebSockets, alarms or R2 inside the real Workers runtime.
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          environment: "node",
          include: ["test/unit/**/*.test.ts"],
          // A timeout is a hang detector, not a speed check (the machine may be loaded): the default
          // 5 s failed a 20,000-frame property test on a busy machine. Speed lives in bench/.
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "e2e",
          environment: "node",
          include: ["test/e2e/**/*.test.ts"],
          // One wrangler dev at a time: these tests start real servers.
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.jsonc" },
            miniflare: {
              // S3_ACCESS_KEY_ID/SECRET: the operator's admin pair (whole bucket); warehouse pairs derive from LAKE_TOKEN.
              bindings: { LAKE_TOKEN: "test-token", DOLAKE_CONFIG: "", WAREHOUSES: "east,west", S3_ACCESS_KEY_ID: "test-admin-key", S3_SECRET_ACCESS_KEY: "test-admin-secret" },
            },
          }),
        ],
        test: {
          name: "workerd",
          // Generous: CI runs these beside the e2e servers on 2 cores; a timeout only detects hangs.
          testTimeout: 60_000,
          hookTimeout: 60_000,
          include: ["test/workerd/**/*.test.ts"],
        },
      },
      {
        // Source CDC (dolake/source) runs in the orders example's Worker: an application object and
        // DoLake in one wrangler.jsonc, as a user deploys them.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./examples/orders/wrangler.jsonc" },
            miniflare: { bindings: { LAKE_TOKEN: "test-token", DOLAKE_CONFIG: "" } },
          }),
        ],
        test: {
          name: "source",
          testTimeout: 30_000,
          include: ["test/source/**/*.test.ts"],
        },
      },
    ],
  },
});
