// A flush yields to the object's event queue (issue 12): acks are answered while a large flush is
// still running, not after it. Proven by order of events, not by timing: the object answers a
// request and a producer's batch while its POST /flush has not answered yet.
import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { create, toBinary } from "@bufbuild/protobuf";
import { ClientMessageSchema, Operation } from "../../../gen/dolake/cdc/v1/cdc_pb.js";
import { DEFAULT_CONFIG } from "../../../src/config.js";
import type { DoLake } from "../../../src/do/dolake.js";
import { rowFromJson } from "../../../src/protocol/json-value.js";
import { bufferedAck, closeAll, configure, flushNow, getJson, openSocket, type TestSocket } from "../helpers.js";

const lake = () => env.DOLAKE.get(env.DOLAKE.idFromName("warehouse"));

afterEach(async () => {
  closeAll();
  await configure({ ...DEFAULT_CONFIG });
});

const CITIES = ["Lisbon", "Osaka", "Toronto", "Nairobi", "Lyon"];

/** A binary cdc_batch of `n` INSERTs into `orders` (ten columns of mixed types), events numbered from `first`. */
function ordersBatch(source: string, batchNumber: number, first: number, n: number): Uint8Array {
  const events = [];
  for (let seq = first; seq < first + n; seq++) {
    const row = {
      id: seq, customer_id: 1_000_000_000 + ((seq * 7919) % 5_000_000), email: `user${(seq * 31) % 100_000}@example.com`,
      name: `Customer ${seq % 9973} ${CITIES[seq % CITIES.length]}`, status: ["new", "paid", "shipped"][seq % 3],
      amount: ((seq * 37) % 100_000) / 100 + 0.01, quantity: (seq % 17) + 1, active: seq % 3 !== 0,
      created_at: new Date(1_704_067_200_000 + seq * 1000).toISOString(), note: seq % 5 === 0 ? null : `order note ${seq % 1000} lorem ipsum`,
    };
    events.push({ sequence: BigInt(seq), timestamp: BigInt(1_704_067_200_000 + seq), operation: Operation.INSERT, table: "orders", rowId: String(seq), after: rowFromJson(row) });
  }
  const value = { timestamp: BigInt(Date.now()), sourceDoId: source, sequenceNumber: BigInt(batchNumber), firstEventSequence: BigInt(first), lastEventSequence: BigInt(first + n - 1), events };
  return toBinary(ClientMessageSchema, create(ClientMessageSchema, { message: { case: "cdcBatch", value } }));
}

async function connect(source: string): Promise<TestSocket> {
  const s = await openSocket();
  s.sendJson({ type: "connect", sourceDoId: source, protocolVersion: 1 });
  expect(await s.next()).toMatchObject({ type: "connected" });
  return s;
}

describe("a flush yields to the event queue", () => {
  it("answers a request and acks a batch while a large flush (default step size) is in progress", async () => {
    await configure({
      messagesPerSecond: 100_000, burstCapacity: 100_000, sourceMessagesPerSecond: 100_000, sourceBurstCapacity: 100_000,
      flushThresholdEvents: 1_000_000_000, flushThresholdBytes: 1 << 30, flushThresholdMs: 3_600_000,
    });
    // 12,000 rows (~3 MiB buffered): one step of the default maxFlushBytes (4 MiB).
    const bulk = await connect("yield-bulk");
    const batches = 12;
    for (let b = 1; b <= batches; b++) {
      bulk.sendBytes(ordersBatch("yield-bulk", b, (b - 1) * 1000 + 1, 1000));
      await bufferedAck(bulk, b);
    }
    const probe = await connect("yield-probe");

    let flushAnswered = false;
    const flushing = flushNow().then((r) => {
      flushAnswered = true;
      return r;
    });
    // The object takes this request while the flush runs only if the flush yields: without the
    // yields it is answered after the flush, sees `running` false, and the loop ends on the flush.
    let seenRunning = false;
    while (!flushAnswered && !seenRunning) {
      seenRunning = await runInDurableObject(lake(), (obj: DoLake) => obj.flushes.running && obj.buffer.stats().batchCount === batches);
    }
    expect(seenRunning, "the object answered nothing while its flush ran").toBe(true);

    // A producer's batch sent now is acked (in SQLite: the ack is sent after the append) before
    // the flush ends: before POST /flush answers and before the flushed source's persisted ack.
    probe.sendBytes(ordersBatch("yield-probe", 1, 1_000_001, 10));
    const ack = await bufferedAck(probe, 1);
    expect(ack).toMatchObject({ type: "ack", status: "buffered" });
    expect(flushAnswered, "the probe's ack waited for the whole flush").toBe(false);

    const r = await flushing;
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: true });
    // Whether the probe's batch was in that flush or not, nothing is lost: a second flush takes the rest.
    const again = await flushNow();
    expect(again.body.ok).toBe(true);
    expect(Number(r.body.eventsFlushed) + Number(again.body.eventsFlushed)).toBe(batches * 1000 + 10);
    expect((await getJson("/status")).buffer.batchCount).toBe(0);
    const table = await getJson("/v1/namespaces/default/tables/orders");
    const m = table.metadata;
    const snap = m.snapshots.find((x: any) => x["snapshot-id"] === m["current-snapshot-id"]);
    expect(snap.summary["total-records"]).toBe(String(batches * 1000 + 10));
  });
});
