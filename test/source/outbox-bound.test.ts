// DoLake unreachable: the outbox grows up to its bound, then the application's writes are refused
// with a clear error (HTTP 503 in the example); nothing is trimmed until DoLake acks, and the pump
// catches up once DoLake is back. A non-retryable nack stalls the pump with the reason, losing nothing.
import { runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Orders } from "../../examples/orders/src/orders.js";
import { dolakeNamespace, dolakeUrl, enableCdc, OUTBOX_FULL } from "../../src/source/index.js";
import { api, exampleEnv, orders } from "./helpers.js";

describe("outbox bound and failures", () => {
  it("refuses writes at the bound while DoLake is unreachable, then drains when it is back", async () => {
    const shop = "b1";
    await runInDurableObject(orders(shop), async (_o: Orders, state) => {
      // Unreachable: the DoLake Worker answers 404 for a warehouse it does not serve.
      const down = enableCdc(state, { tables: ["orders"], destination: dolakeUrl("http://example", "test-token", { warehouse: "gone", fetcher: SELF }), sourceId: "bound-src", maxOutboxEvents: 5, retryDelayMs: { min: 60_000, max: 120_000 } });
      for (let i = 1; i <= 5; i++) state.storage.sql.exec("INSERT INTO orders (id, customer, amount_cents, updated_at) VALUES (?, 'c', 1, 0)", i);
      expect(() => state.storage.sql.exec("INSERT INTO orders (id, customer, amount_cents, updated_at) VALUES (6, 'c', 1, 0)")).toThrow(OUTBOX_FULL);
      const run = await down.alarm();
      expect(run.sent).toBe(0);
      expect(run.error).toMatch(/404/);
      // The retry is a minute away: the object's own alarm (the example's pump, on the same slot)
      // must not fire and drain the outbox before the test's own run below (it did on a loaded
      // machine with a 100 ms retry).
      expect(run.next).toBe(60_000);
      expect(down.lag()).toMatchObject({ events: 5, outboxEvents: 5, acked: 0n, maxOutboxEvents: 5 });
      expect(down.lag().lastError).toMatch(/refused the WebSocket: 404/);
      expect(down.metrics()).toMatch(/dolake_source_failures_total\{source="bound-src"\} 1/);
    });
    // The application's own API says why (503), and the row is not written.
    const refused = await api("POST", `/orders?shop=${shop}`, { id: 6, customer: "c", amount_cents: 1 });
    expect(refused.status).toBe(503);
    expect(refused.body.error).toContain(OUTBOX_FULL);
    await runInDurableObject(orders(shop), async (_o: Orders, state) => {
      expect(state.storage.sql.exec("SELECT count(*) AS n FROM orders").one().n).toBe(5);
      // DoLake is back (a redeploy with the right destination): the same slot resumes, the outbox drains.
      const up = enableCdc(state, { tables: ["orders"], destination: dolakeNamespace(exampleEnv.DOLAKE), sourceId: "bound-src", maxOutboxEvents: 5 });
      const run = await up.alarm();
      expect(run).toMatchObject({ sent: 5, next: undefined });
      expect(up.lag()).toMatchObject({ events: 0, outboxEvents: 0, acked: 5n, lastError: "" });
      state.storage.sql.exec("INSERT INTO orders (id, customer, amount_cents, updated_at) VALUES (6, 'c', 1, 0)");
    });
  });

  it("a non-retryable nack (schema_conflict) stops the pump with the reason and keeps the events", async () => {
    const shop = "b2";
    await runInDurableObject(orders(shop), async (_o: Orders, state) => {
      state.storage.sql.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, v NUMERIC)");
      const cdc = enableCdc(state, { tables: ["notes"], destination: dolakeNamespace(exampleEnv.DOLAKE), sourceId: "nack-src", slot: "nack" });
      state.storage.sql.exec("INSERT INTO notes VALUES (1, 10)");
      expect(await cdc.alarm()).toMatchObject({ sent: 1, next: undefined });
      // NUMERIC keeps what it is given: a fraction where DoLake's column is already a long.
      state.storage.sql.exec("INSERT INTO notes VALUES (2, 1.5)");
      const run = await cdc.alarm();
      expect(run.sent).toBe(0);
      expect(run.error).toMatch(/SCHEMA_CONFLICT/);
      // Two rows held: the example's own slot ("dolake", never pumped here) holds the outbox back too.
      expect(cdc.lag()).toMatchObject({ events: 1, acked: 1n, outboxEvents: 2 });
      expect(cdc.metrics()).toMatch(/dolake_source_nacks_total\{source="nack-src",reason="schema_conflict"\} 1/);
    });
  });

  it("refuses to send when DoLake already holds more of this sourceId than the outbox ever wrote (nothing is dropped as a duplicate)", async () => {
    await runInDurableObject(orders("b3"), async (_o: Orders, state) => {
      const first = enableCdc(state, { tables: ["orders"], destination: dolakeNamespace(exampleEnv.DOLAKE), sourceId: "shared-src", slot: "first" });
      for (let i = 1; i <= 3; i++) state.storage.sql.exec("INSERT INTO orders (id, customer, amount_cents, updated_at) VALUES (?, 'c', 1, 0)", i);
      expect(await first.alarm()).toMatchObject({ sent: 3 });
    });
    await runInDurableObject(orders("b4"), async (_o: Orders, state) => {
      // Another object, same sourceId: its sequence 1 would be acked "duplicate" and never land.
      const second = enableCdc(state, { tables: ["orders"], destination: dolakeNamespace(exampleEnv.DOLAKE), sourceId: "shared-src", slot: "second" });
      state.storage.sql.exec("INSERT INTO orders (id, customer, amount_cents, updated_at) VALUES (9, 'c', 1, 0)");
      const run = await second.alarm();
      expect(run.sent).toBe(0);
      expect(run.error).toMatch(/already holds sequence 3 for source shared-src/);
      expect(second.lag()).toMatchObject({ events: 1, acked: 0n });
    });
  });
});
