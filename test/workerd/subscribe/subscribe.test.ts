// Change streams (GET /v1/subscribe) through the real Worker and object: history from the
// changelog tables and the buffer, the up_to_date seam, live acks, cursors, credits, filters and
// typed errors. Storage is shared by the tests of this file: each test uses tables of its own.
import { env, runInDurableObject, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { create, toBinary } from "@bufbuild/protobuf";
import type { DoLake } from "../../../src/do/dolake.js";
import { SubscribeClientMessageSchema, StartFrom } from "../../../gen/dolake/subscribe/v1/subscribe_pb.js";
import { api } from "../catalog/helpers.js";
import { AUTH, bufferedAck, closeAll, flushNow, getJson, openSocket, openSubscriber, type TestSocket } from "../helpers.js";

afterEach(() => closeAll());

let batchNumber = 0;
let sequence = 0;

/** Sends one batch of events (INSERT unless `op` says otherwise) from source "sub-src" and waits for its ack. */
async function produce(p: TestSocket, table: string, ids: Array<number | [string, number]>): Promise<void> {
  const events = ids.map((x) => {
    const [operation, id] = typeof x === "number" ? ["INSERT", x] : x;
    return { sequence: ++sequence, timestamp: 1_700_000_000_000 + sequence, operation, table, rowId: String(id), after: operation === "DELETE" ? undefined : { id, v: `v${sequence}` } };
  });
  p.sendJson({ type: "cdc_batch", sourceDoId: "sub-src", sequenceNumber: ++batchNumber, events });
  await bufferedAck(p, batchNumber);
}

async function producer(): Promise<TestSocket> {
  const p = await openSocket();
  p.sendJson({ type: "connect", sourceDoId: "sub-src", protocolVersion: 1, lastAckSequence: sequence });
  await p.next();
  return p;
}

/** Reads change batches until `n` events arrived (or up_to_date when `untilUpToDate`). */
async function collect(s: TestSocket, n: number): Promise<{ events: any[]; cursor: string; upToDate: boolean; batches: number }> {
  const events: any[] = [];
  let cursor = "";
  let upToDate = false;
  let batches = 0;
  while (events.length < n) {
    const m = await s.next();
    if (m.type === "change_batch") {
      events.push(...(m.events as any[]));
      cursor = m.cursor as string;
      batches++;
    } else if (m.type === "up_to_date") upToDate = true;
    else if (m.type !== "subscribed") throw new Error(`unexpected ${JSON.stringify(m)}`);
  }
  return { events, cursor, upToDate, batches };
}

const key = (e: any) => `${e.table}:${e.operation}:${e.rowId}:${e.sequence}`;

describe("subscribe", () => {
  it("replays the changelog and the buffer, marks up_to_date, then streams live acks", async () => {
    const p = await producer();
    await produce(p, "s_orders", [1, 2, 3]);
    expect((await flushNow()).body.ok).toBe(true);
    await produce(p, "s_orders", [["UPDATE", 2], ["DELETE", 3]]);
    const s = await openSubscriber();
    s.sendJson({ type: "subscribe", tables: ["s_orders"], from: "earliest" });
    const subscribed = await s.next();
    expect(subscribed).toMatchObject({ type: "subscribed", cursor: "0", earliest: "0" });
    const history = await collect(s, 5);
    expect(history.events.map((e) => [e.operation, e.rowId])).toEqual([["INSERT", "1"], ["INSERT", "2"], ["INSERT", "3"], ["UPDATE", "2"], ["DELETE", "3"]]);
    // Positions are dense and increasing; flushed ones came from the changelog, the rest from the buffer.
    const positions = history.events.map((e) => BigInt(e.position));
    expect(positions).toEqual([...positions].sort((a, b) => (a < b ? -1 : 1)));
    expect(history.events[0].after).toEqual({ id: 1, v: expect.stringMatching(/^v/) });
    expect(history.events[0]).toMatchObject({ source: "sub-src", table: "s_orders" });
    expect(Number(history.events[0].ackedAt)).toBeGreaterThan(1_700_000_000_000);
    const marker = await s.next();
    expect(marker).toMatchObject({ type: "up_to_date", cursor: subscribed.head });
    const status = await getJson("/status");
    expect(status.subscribers).toBeGreaterThanOrEqual(1);
    expect(String(status.log.head)).toBe(subscribed.head);
    const metrics = await (await SELF.fetch("http://lake/metrics", { headers: AUTH })).text();
    expect(metrics).toMatch(/^dolake_subscribers [1-9]/m);
    await produce(p, "s_orders", [4]);
    const live = await collect(s, 1);
    expect(live.events.map((e) => [e.operation, e.rowId])).toEqual([["INSERT", "4"]]);
    expect(BigInt(live.cursor)).toBe(BigInt(live.events[0].position));
  });

  it("resumes after a cursor with nothing lost and nothing twice, across a flush", async () => {
    const p = await producer();
    await produce(p, "s_resume", [1, 2, 3, 4]);
    const a = await openSubscriber();
    a.sendJson({ type: "subscribe", tables: ["s_resume"], from: "earliest", maxBatchEvents: 2, credits: 1 });
    const first = await collect(a, 2);
    expect(first.events.map((e) => e.rowId)).toEqual(["1", "2"]);
    a.ws.close(1000, "bye");
    await produce(p, "s_resume", [5]);
    expect((await flushNow()).body.ok).toBe(true); // 3, 4, 5 move from the buffer to the changelog
    await produce(p, "s_resume", [6]);
    const b = await openSubscriber();
    b.sendJson({ type: "subscribe", tables: ["s_resume"], cursor: first.cursor });
    expect(await b.next()).toMatchObject({ type: "subscribed", cursor: first.cursor });
    const rest = await collect(b, 4);
    expect(rest.events.map((e) => e.rowId)).toEqual(["3", "4", "5", "6"]);
  });

  it("sends one batch per credit and holds the rest until more credit comes", async () => {
    const p = await producer();
    await produce(p, "s_credit", [1, 2, 3, 4, 5]);
    const s = await openSubscriber();
    s.sendJson({ type: "subscribe", tables: ["s_credit"], from: "earliest", maxBatchEvents: 2, credits: 1 });
    const one = await collect(s, 1);
    expect(one.events.map((e) => e.rowId)).toEqual(["1", "2"]);
    s.sendJson({ type: "ping", timestamp: 7 });
    expect(await s.next()).toMatchObject({ type: "pong", timestamp: 7 }); // nothing else came in between
    s.sendJson({ type: "credit", batches: 5 });
    const rest = await collect(s, 3);
    expect(rest.events.map((e) => e.rowId)).toEqual(["3", "4", "5"]);
    expect(rest.batches).toBe(2);
  });

  it("filters by table and operation, projects columns, and speaks binary to a binary subscriber", async () => {
    const p = await producer();
    await produce(p, "s_filter_a", [1, ["UPDATE", 1]]);
    await produce(p, "s_filter_b", [9]);
    const s = await openSubscriber();
    s.sendBytes(toBinary(SubscribeClientMessageSchema, create(SubscribeClientMessageSchema, {
      message: { case: "subscribe", value: { tables: ["s_filter_a", "s_filter_b"], operations: [2], columns: ["id"], from: StartFrom.EARLIEST } },
    })));
    const got = await collect(s, 1);
    expect(got.events).toEqual([expect.objectContaining({ operation: "UPDATE", table: "s_filter_a", rowId: "1", after: { id: 1 } })]);
    expect((await s.next()).binary).toBe(true);
  });

  it("starts from a timestamp: only changes acked at or after it", async () => {
    const p = await producer();
    await produce(p, "s_time", [1]);
    expect((await flushNow()).body.ok).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    const at = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    await produce(p, "s_time", [2]);
    const s = await openSubscriber();
    s.sendJson({ type: "subscribe", tables: ["s_time"], from: "timestamp", timestamp: at });
    const got = await collect(s, 1);
    expect(got.events.map((e) => e.rowId)).toEqual(["2"]);
    expect(await s.next()).toMatchObject({ type: "up_to_date" });
  });

  it("starts from a timestamp by the changelog files' acked_at statistics, after the snapshots that wrote them expired", async () => {
    const p = await producer();
    await produce(p, "s_time_old", [1]);
    expect((await flushNow()).body.ok).toBe(true);
    const probe = await openSubscriber();
    probe.sendJson({ type: "subscribe", tables: ["s_time_old"], from: "now" });
    const afterFirst = (await probe.next()).head as string; // the last position acked so far
    await new Promise((r) => setTimeout(r, 20));
    const at = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    await produce(p, "s_time_old", [2]);
    expect((await flushNow()).body.ok).toBe(true);
    // Expire every snapshot but the current one: the summaries naming the first flush's positions go with them.
    const path = "/v1/namespaces/default/tables/s_time_old__changelog";
    expect((await api("GET", path)).body.metadata.properties).toMatchObject({ "history.expire.max-snapshot-age-ms": "3600000" }); // the mirror's retention
    const props = { "history.expire.max-snapshot-age-ms": "1", "history.expire.min-snapshots-to-keep": "1" };
    expect((await api("POST", path, { requirements: [], updates: [{ action: "set-properties", updates: props }] })).status).toBe(200);
    await produce(p, "s_time_old", [3]);
    expect((await flushNow()).body.ok).toBe(true);
    const run = await SELF.fetch("http://lake.test/v1/compaction/run", { method: "POST", headers: { ...AUTH, "Content-Type": "application/json" }, body: JSON.stringify({ namespace: "default", table: "s_time_old__changelog" }) });
    expect(run.status).toBe(200);
    const meta = (await api("GET", path)).body.metadata;
    expect(meta.snapshots).toHaveLength(1);

    const s = await openSubscriber();
    s.sendJson({ type: "subscribe", tables: ["s_time_old"], from: "timestamp", timestamp: at });
    s.sendJson({ type: "credit", batches: 1 }); // may arrive while the start reads R2: it waits for the start
    const subscribed = await s.next();
    // Placed after the first flush's file (acked wholly before `at`), not at the start of the log.
    expect(subscribed).toMatchObject({ type: "subscribed", cursor: afterFirst });
    const got = await collect(s, 2);
    expect(got.events.map((e) => e.rowId)).toEqual(["2", "3"]);
  });

  it("answers bad requests with typed errors and closes", async () => {
    const ahead = await openSubscriber();
    ahead.sendJson({ type: "subscribe", cursor: "99999999999" });
    expect(await ahead.next()).toMatchObject({ type: "error", code: "invalid_request", message: expect.stringContaining("ahead") });
    expect((await ahead.closed).code).toBe(1008);

    const garbage = await openSubscriber();
    garbage.sendText("{not json");
    expect(await garbage.next()).toMatchObject({ type: "error", code: "invalid_request" });

    const stub = env.DOLAKE.get(env.DOLAKE.idFromName("warehouse"));
    await runInDurableObject(stub, (_o: DoLake, state) => state.storage.sql.exec("UPDATE cdc_log SET retained_from = 3"));
    try {
      const old = await openSubscriber();
      old.sendJson({ type: "subscribe", cursor: "1" });
      expect(await old.next()).toMatchObject({ type: "error", code: "cursor_expired", earliest: "2" });
    } finally {
      await runInDurableObject(stub, (_o: DoLake, state) => state.storage.sql.exec("UPDATE cdc_log SET retained_from = 1"));
    }

    const res = await SELF.fetch("http://lake/v1/subscribe", { headers: { Upgrade: "websocket" } });
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    const first = new Promise<string>((r) => ws.addEventListener("message", (ev) => r(ev.data as string)));
    ws.accept();
    expect(JSON.parse(await first)).toMatchObject({ type: "error", code: "unauthorized" });
    const plain = await SELF.fetch("http://lake/v1/subscribe");
    expect(plain.status).toBe(401);
  });

  it("keeps each subscriber's order and completeness with many subscribers and flushes in between", async () => {
    const p = await producer();
    const subs = await Promise.all(Array.from({ length: 5 }, () => openSubscriber()));
    for (const s of subs) s.sendJson({ type: "subscribe", tables: ["s_many"], from: "now", maxBatchEvents: 3, credits: 100 });
    for (const s of subs) await s.next(); // subscribed
    const want: string[] = [];
    for (let i = 0; i < 6; i++) {
      const ids = [i * 3 + 1, i * 3 + 2, i * 3 + 3];
      await produce(p, "s_many", ids);
      want.push(...ids.map((id) => `s_many:INSERT:${id}`));
      if (i % 2 === 1) expect((await flushNow()).body.ok).toBe(true);
    }
    for (const s of subs) {
      const got = await collect(s, want.length);
      expect(got.events.map((e) => `${e.table}:${e.operation}:${e.rowId}`)).toEqual(want);
      expect(new Set(got.events.map(key)).size).toBe(want.length);
    }
  });
});
