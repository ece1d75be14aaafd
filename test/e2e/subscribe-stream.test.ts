// End to end against a real `wrangler dev`: a seeded random CDC workload (inserts, updates, deletes
// over two tables, flushes at random) streams while three lake-client subscribers read it — one
// from the start, one that breaks off every few batches and resumes from its last cursor, one slow
// consumer with one batch of credit — and the server is killed with SIGKILL and restarted on the
// same state mid-stream. Every subscriber must receive exactly the acked events its subscription
// selects, in order, none lost and none twice.
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error: plain ESM script without types
import { freePort, startServer } from "../../scripts/with-server.mjs";
import { createLakeClient, type ChangeEvent, type SubscribeOptions } from "../../src/client/lake.js";
import { createProducer, type ProducerEvent } from "../../src/client/producer.js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rng } from "../support/rng.js";

const TOKEN = "e2e-token";
let server: { url: string; stop(): Promise<void>; child: { pid: number } } | undefined;
afterAll(async () => {
  await server?.stop();
});

const id = (e: { table: string; operation: string; rowId: string; n: number }) => `${e.table}/${e.operation}/${e.rowId}/${e.n}`;
const received = (e: ChangeEvent) => id({ table: e.table, operation: e.operation, rowId: e.rowId, n: Number((e.after ?? e.before)!.n) });

async function until(what: string, done: () => boolean, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("subscribe end to end", () => {
  it("delivers every acked event once, in order, across disconnects, resumes and a server kill", { timeout: 300_000 }, async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "dolake-sub-"));
    const port = await freePort();
    let srv = await startServer({ stateDir, token: TOKEN, port });
    server = srv;
    const producer = createProducer({ url: srv.url, token: TOKEN, sourceId: "sub-e2e", encoding: "binary", maxBatchEvents: 100, reconnectDelayMs: { min: 200, max: 2000 }, timeoutMs: 170_000 });
    const lake = createLakeClient({ url: srv.url, token: TOKEN });
    const random = rng(20261129);
    const acked: Array<{ table: string; operation: string; rowId: string; n: number }> = [];
    const live = { items: new Set<string>(), people: new Set<string>() };
    const stop = new AbortController();

    // A: everything from the start.
    const a: ChangeEvent[] = [];
    const runA = (async () => {
      for await (const b of lake.subscribe({ from: "earliest", maxBatchEvents: 64, signal: stop.signal })) a.push(...b.events);
    })();
    // B: items' inserts and updates; breaks off every 3 batches and resumes from the last cursor.
    const bOps: SubscribeOptions["operations"] = ["INSERT", "UPDATE"];
    const bSink: ChangeEvent[] = [];
    let resumes = 0;
    const runB = (async () => {
      let cursor: string | undefined;
      while (!stop.signal.aborted) {
        let n = 0;
        for await (const b of lake.subscribe({ tables: ["items"], operations: bOps, from: cursor ? { cursor } : "earliest", maxBatchEvents: 25, signal: stop.signal })) {
          bSink.push(...b.events);
          cursor = b.cursor;
          if (++n >= 3) break;
        }
        resumes++;
      }
    })();
    // C: a slow consumer, one batch of credit at a time.
    const c: ChangeEvent[] = [];
    const runC = (async () => {
      for await (const b of lake.subscribe({ tables: ["people"], from: "earliest", prefetch: 1, maxBatchEvents: 10, signal: stop.signal })) {
        c.push(...b.events);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();

    let n = 0;
    let killed = false;
    const sends: Promise<void>[] = [];
    for (let round = 0; round < 30; round++) {
      const events: ProducerEvent[] = [];
      for (let i = 0; i < 60; i++, n++) {
        const table = random() < 0.6 ? "items" : "people";
        const rowId = `k${Math.floor(random() * 80)}`;
        const set = live[table];
        const operation = !set.has(rowId) ? "INSERT" : random() < 0.3 ? "DELETE" : "UPDATE";
        if (operation === "DELETE") set.delete(rowId);
        else set.add(rowId);
        const image = { id: rowId, n, note: `round ${round}` };
        events.push(operation === "DELETE" ? { table, rowId, operation, before: image } : { table, rowId, operation, after: image });
        acked.push({ table, operation, rowId, n });
      }
      sends.push(producer.send(events));
      if (random() < 0.2) await fetch(`${srv.url}/flush`, { method: "POST", headers: { Authorization: `Bearer ${TOKEN}` } });
      if (round === 15 && !killed) {
        await Promise.all(sends); // acked: now the kill hits subscribers mid-stream
        killed = true;
        process.kill(-srv.child.pid, "SIGKILL");
        await new Promise((r) => setTimeout(r, 500));
        srv = await startServer({ stateDir, token: TOKEN, port });
        server = srv;
      }
    }
    await Promise.all(sends);
    expect(producer.lastAckSequence).toBe(BigInt(acked.length));
    await producer.close();

    const want = acked.map(id);
    const wantB = acked.filter((e) => e.table === "items" && e.operation !== "DELETE").map(id);
    const wantC = acked.filter((e) => e.table === "people").map(id);
    await until("subscriber A", () => a.length >= want.length);
    await until("subscriber B", () => bSink.length >= wantB.length);
    await until("subscriber C", () => c.length >= wantC.length);
    await new Promise((r) => setTimeout(r, 300)); // anything extra (a duplicate) would arrive now
    stop.abort();
    await Promise.allSettled([runA, runB, runC]);

    expect(a.map(received)).toEqual(want);
    expect(bSink.map(received)).toEqual(wantB);
    expect(c.map(received)).toEqual(wantC);
    expect(resumes).toBeGreaterThan(3);
    // Positions are strictly increasing for each subscriber.
    for (const sink of [a, bSink, c]) for (let i = 1; i < sink.length; i++) expect(sink[i]!.position > sink[i - 1]!.position).toBe(true);
  });
});
