// The pump honours DoLake's flow control: suggestedDelayMs in acks pauses it until the next alarm,
// a retryable nack (buffer_full) ends the run with DoLake's retry delay and keeps every event.
import { runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Orders } from "../../examples/orders/src/orders.js";
import { dolakeNamespace, enableCdc } from "../../src/source/index.js";
import { AUTH, exampleEnv, orders } from "./helpers.js";

async function configureLake(patch: Record<string, unknown>): Promise<void> {
  const res = await SELF.fetch("http://example/config", { method: "PATCH", headers: AUTH, body: JSON.stringify(patch) });
  expect(res.status).toBe(200);
}

describe("flow control", () => {
  it("pauses on suggestedDelayMs: one batch per run while DoLake's buffer is above its backpressure threshold", async () => {
    await configureLake({ backpressureThreshold: 0.000001 });
    await runInDurableObject(orders("fc1"), async (_o: Orders, state) => {
      const cdc = enableCdc(state, { tables: ["orders"], destination: dolakeNamespace(exampleEnv.DOLAKE), sourceId: "fc1", batchEvents: 2 });
      for (let i = 1; i <= 5; i++) state.storage.sql.exec("INSERT INTO orders (id, customer, amount_cents, updated_at) VALUES (?, 'c', 1, 0)", i);
      const run = await cdc.alarm();
      expect(run.sent).toBe(2);
      expect(run.next).toBeGreaterThan(0);
      expect(cdc.lag()).toMatchObject({ events: 3, acked: 2n });
      expect(cdc.metrics()).toMatch(/dolake_source_backpressure_total\{source="fc1"\} 1/);
      // The pump set its own next alarm after the suggested delay.
      expect(await state.storage.getAlarm()).not.toBeNull();
    });
  });

  it("a buffer_full nack ends the run with DoLake's retry delay; the events stay and drain later", async () => {
    // DoLake's config is stored in its SQLite, which the tests of this file share: set both knobs.
    await configureLake({ maxBufferSize: 1, backpressureThreshold: 0.8 });
    await runInDurableObject(orders("fc2"), async (_o: Orders, state) => {
      const cdc = enableCdc(state, { tables: ["orders"], destination: dolakeNamespace(exampleEnv.DOLAKE), sourceId: "fc2" });
      for (let i = 1; i <= 3; i++) state.storage.sql.exec("INSERT INTO orders (id, customer, amount_cents, updated_at) VALUES (?, 'c', 1, 0)", i);
      const refused = await cdc.alarm();
      expect(refused.sent).toBe(0);
      expect(refused.error).toMatch(/BUFFER_FULL/);
      expect(refused.next).toBeGreaterThan(0);
      expect(cdc.lag()).toMatchObject({ events: 3, acked: 0n, outboxEvents: 3 });
      expect(cdc.metrics()).toMatch(/dolake_source_nacks_total\{source="fc2",reason="buffer_full"\} 1/);
    });
    await configureLake({ maxBufferSize: 64 * 1024 * 1024, backpressureThreshold: 0.8 });
    await runInDurableObject(orders("fc2"), async (_o: Orders, state) => {
      const cdc = enableCdc(state, { tables: ["orders"], destination: dolakeNamespace(exampleEnv.DOLAKE), sourceId: "fc2" });
      expect(await cdc.alarm()).toMatchObject({ sent: 3, next: undefined });
      expect(cdc.lag()).toMatchObject({ events: 0, acked: 3n, lastError: "" });
    });
  });
});
