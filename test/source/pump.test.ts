// The pump: the orders example's writes reach DoLake through the DOLAKE namespace (a WebSocket
// from one Durable Object to another), the slot moves only on acks, and resumes after eviction.
import { evictDurableObject, runInDurableObject, SELF } from "cloudflare:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ClientMessageSchema } from "../../gen/dolake/cdc/v1/cdc_pb.js";
import type { DoLake } from "../../src/do/dolake.js";
import type { Orders } from "../../examples/orders/src/orders.js";
import { toCdcEvent } from "../../src/source/pump.js";
import { AUTH, api, lake, orders, pumpAll } from "./helpers.js";

const sourceOf = (shop: string) => runInDurableObject(orders(shop), (_o: Orders, state) => `orders-${state.id.toString().slice(0, 16)}`);
const lakeMark = (source: string) => runInDurableObject(lake(), (l: DoLake) => l.buffer.source(source)?.lastAckSequence ?? 0n);
const lagOf = (shop: string) => runInDurableObject(orders(shop), (o: Orders) => o.cdc.lag());

describe("pump", () => {
  it("streams API writes to DoLake, moves the slot on acks and trims the outbox; a flush makes them an Iceberg table", async () => {
    const shop = "p1";
    expect((await api("POST", `/orders?shop=${shop}`, { id: 1, customer: "ann", amount_cents: 500 })).status).toBe(201);
    expect((await api("POST", `/orders?shop=${shop}`, { id: "9007199254740993", customer: "bob", amount_cents: 700 })).status).toBe(201);
    expect((await api("PATCH", `/orders/1?shop=${shop}`, { status: "paid" })).status).toBe(200);
    expect((await api("DELETE", `/orders/9007199254740993?shop=${shop}`)).status).toBe(204);
    await pumpAll(orders(shop));
    const lag = await lagOf(shop);
    expect(lag).toMatchObject({ events: 0, head: 4n, acked: 4n, outboxEvents: 0, lastError: "" });
    expect(await lakeMark(await sourceOf(shop))).toBe(4n);

    const flushed = await SELF.fetch("http://example/flush", { method: "POST", headers: AUTH });
    expect(flushed.status).toBe(200);
    const table = (await (await SELF.fetch("http://example/v1/namespaces/default/tables/orders", { headers: AUTH })).json()) as any;
    const snap = table.metadata.snapshots.find((s: any) => s["snapshot-id"] === table.metadata["current-snapshot-id"]);
    // The mirror holds the source's one live row (order 1, paid); the deleted order is gone.
    expect(Number(snap.summary["total-records"]) - Number(snap.summary["total-position-deletes"] ?? 0)).toBe(1);
    const metrics = await (await SELF.fetch(`http://example/cdc/metrics?shop=${shop}`, { headers: AUTH })).text();
    expect(metrics).toMatch(/dolake_source_lag_events\{source="orders-[0-9a-f]+"\} 0/);
    expect(metrics).toMatch(/dolake_source_acked_sequence\{source="orders-[0-9a-f]+"\} 4/);
  });

  it("a rolled-back batch sends nothing; its sequences are not skipped", async () => {
    const shop = "p2";
    await api("POST", `/orders?shop=${shop}`, { id: 1, customer: "ann", amount_cents: 500 });
    const refused = await api("POST", `/orders/batch?shop=${shop}`, { steps: [{ op: "insert", order: { id: 2, customer: "bob", amount_cents: 1 } }, { op: "insert", order: { id: 1, customer: "dup", amount_cents: 1 } }] });
    expect(refused.status).toBe(409);
    await api("POST", `/orders/batch?shop=${shop}`, { steps: [{ op: "insert", order: { id: 3, customer: "cid", amount_cents: 2 } }, { op: "update", id: 1, set: { status: "paid" } }] });
    await pumpAll(orders(shop));
    expect((await lagOf(shop)).acked).toBe(3n);
    expect(await lakeMark(await sourceOf(shop))).toBe(3n);
  });

  it("resumes from the slot after eviction, and from DoLake's mark when an ack outlived the slot update", async () => {
    const shop = "p3";
    const source = await sourceOf(shop);
    for (let i = 1; i <= 3; i++) await api("POST", `/orders?shop=${shop}`, { id: i, customer: `c${i}`, amount_cents: i });
    await pumpAll(orders(shop));
    await evictDurableObject(orders(shop));
    // Written without notify(): no alarm runs the pump before the test plays the lost-slot-update case.
    await runInDurableObject(orders(shop), (_o: Orders, state) => {
      for (let i = 4; i <= 5; i++) state.storage.sql.exec("INSERT INTO orders (id, customer, amount_cents, updated_at) VALUES (?, ?, ?, 0)", i, `c${i}`, i);
    });
    // Events 4..5 reach DoLake but the source never records the ack (as if evicted between the two).
    const events = await runInDurableObject(orders(shop), (o: Orders) =>
      o.cdc.slots.subscribeFromSlot("dolake").map((e) => toCdcEvent(e, new Map(o.cdc.captured[0]!.columns.map((c) => [c.name, c.kind])))),
    );
    expect(events.map((e) => e.sequence)).toEqual([4n, 5n]);
    const res = await SELF.fetch("http://example/ws", { headers: { Upgrade: "websocket", ...AUTH } });
    const ws = res.webSocket!;
    ws.accept();
    const answered = new Promise((r) => ws.addEventListener("message", r));
    ws.send(toBinary(ClientMessageSchema, create(ClientMessageSchema, { message: { case: "cdcBatch", value: { sourceDoId: source, sequenceNumber: 5n, firstEventSequence: 4n, lastEventSequence: 5n, events } } })));
    await answered;
    ws.close(1000, "done");
    expect(await lakeMark(source)).toBe(5n);
    expect((await lagOf(shop)).acked).toBe(3n);
    await evictDurableObject(orders(shop));
    await api("POST", `/orders?shop=${shop}`, { id: 6, customer: "c6", amount_cents: 6 });
    await pumpAll(orders(shop));
    expect(await lagOf(shop)).toMatchObject({ events: 0, acked: 6n, outboxEvents: 0 });
    expect(await lakeMark(source)).toBe(6n);
    // Every event once: DoLake buffered exactly 6 events for this source (3 + 2 + 1), no duplicate batch applied.
    const buffered = await runInDurableObject(lake(), (l: DoLake, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT coalesce(sum(event_count), 0) AS n FROM cdc_batches WHERE source_id = ?", source).one().n,
    );
    expect(buffered).toBe(6);
  });
});
