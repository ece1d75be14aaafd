// The pump sends the outbox in sequence order across digit boundaries (9 -> 10, 99 -> 100), also with
// two pumps of one object running at once. The outbox was read ORDER BY a text copy of seq ("10"
// before "2"), so a batch after 1 started at 10 and the pump stopped on a false "outbox gap" (seen in
// the SIGKILL e2e at 93 -> 100). Runs of one pump are shared and every loop re-reads the slot, so
// another run (a second instance during a redeploy) moving it meanwhile is no gap either.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Orders } from "../../examples/orders/src/orders.js";
import { dolakeNamespace, enableCdc } from "../../src/source/index.js";
import { exampleEnv, orders } from "./helpers.js";

describe("concurrent pump runs", () => {
  it("two pumps of one object running at once send everything, with no false gap, and leave nothing behind", async () => {
    await runInDurableObject(orders("concurrent"), async (_o: Orders, state) => {
      const options = { tables: ["orders"], destination: dolakeNamespace(exampleEnv.DOLAKE), sourceId: "concurrent-src", batchEvents: 5 };
      const a = enableCdc(state, options);
      const b = enableCdc(state, options);
      for (let i = 1; i <= 40; i++) state.storage.sql.exec("INSERT INTO orders (id, customer, amount_cents, updated_at) VALUES (?, 'c', ?, 0)", i, i);
      const runs = await Promise.all([a.alarm(), b.alarm(), a.alarm()]);
      for (const r of runs) expect(r.error, String(r.error)).toBeUndefined();
      let more = runs.some((r) => r.next !== undefined);
      for (let i = 0; more && i < 20; i++) more = (await a.alarm()).next !== undefined;
      expect(a.lag()).toMatchObject({ events: 0, acked: 40n, outboxEvents: 0, lastError: "" });
    });
  });
});
