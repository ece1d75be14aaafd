// Issue 12's differential test at the file level: the flush's decode (groupByTable, with the
// one-walk binary decoder) and the path it replaced (fromBinary + rowToJson) feed the CDC writer
// the same buffered batches, with the same clock, snapshot ids and file names; every file written
// (Parquet data and deletes of the mirror and the changelog, manifests, manifest lists) must be
// byte for byte the same, and so must the table metadata. Workload: inserts, updates, deletes,
// schema evolution (new columns, long -> double), 64-bit values, nulls, ISO timestamps, nested
// values, binary and JSON frames in one buffer.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { CdcEventSchema, ClientMessageSchema, Operation } from "../../../gen/dolake/cdc/v1/cdc_pb.js";
import type { BufferedBatch } from "../../../src/buffer/durable-buffer.js";
import { groupByTable } from "../../../src/flush/flusher.js";
import { writeCdcFlush, type CdcChange, type RowLocation } from "../../../src/iceberg/cdc-writer.js";
import type { TableMetadata } from "../../../src/iceberg/metadata/types.js";
import { MemoryObjectStore } from "../../../src/iceberg/object-store.js";
import { decodeClientFrame, encodeClientMessage } from "../../../src/protocol/frames.js";
import { rowFromJson, rowToJson } from "../../../src/protocol/json-value.js";
import { stringifyJson } from "../../../src/util/json.js";
import { rng } from "../../support/rng.js";

const OPS: Record<number, CdcChange["operation"]> = { [Operation.INSERT]: "INSERT", [Operation.UPDATE]: "UPDATE", [Operation.DELETE]: "DELETE" };

/** The decode the flush used before issue 12 (flusher.ts groupByTable + sink.ts toChange, with issue 11's log positions). */
function oldChanges(batches: BufferedBatch[]): CdcChange[] {
  const out: CdcChange[] = [];
  for (const b of batches) {
    const msg = b.format === "json" ? decodeClientFrame(new TextDecoder().decode(b.payload)).message : fromBinary(ClientMessageSchema, b.payload);
    if (msg.message.case !== "cdcBatch") throw new Error("not a batch");
    let position = b.logStart;
    for (const e of msg.message.value.events) {
      out.push({
        operation: OPS[e.operation]!, rowId: e.rowId, sequence: e.sequence, timestamp: e.timestamp === 0n ? BigInt(b.receivedAt) : e.timestamp, source: b.sourceId,
        before: e.before ? rowToJson(e.before) : null, after: e.after ? rowToJson(e.after) : null, metadata: e.metadata ? rowToJson(e.metadata) : null,
        logPosition: position++, ackedAt: BigInt(b.receivedAt),
      });
    }
  }
  return out;
}

function row(i: number, phase: number, r: () => number): Record<string, unknown> {
  const base: Record<string, unknown> = {
    id: i,
    big: 2n ** 60n + BigInt(i),
    name: r() < 0.2 ? null : `name ${i} ${"é".repeat(i % 3)}`,
    amount: i % 3 === 0 ? i * 3 : i + 0.25, // integral and not: inferred double, takes longs after
    flag: i % 2 === 0,
    at: new Date(1_704_067_200_000 + i * 1_000).toISOString(),
    doc: i % 4 === 0 ? { tags: ["a", i], n: null } : null,
  };
  if (phase >= 1) base.added = `new column ${i}`; // schema evolution: a column appears
  if (phase >= 2) base.neg = -(2n ** 63n) + BigInt(i);
  return base;
}

function buffered(): BufferedBatch[] {
  const r = rng(3);
  const batches: BufferedBatch[] = [];
  let seq = 0n;
  for (let id = 1; id <= 12; id++) {
    const phase = id <= 4 ? 0 : id <= 8 ? 1 : 2;
    const events = Array.from({ length: 40 }, () => {
      const key = Math.floor(r() * 60);
      const op = r() < 0.6 ? Operation.INSERT : r() < 0.6 ? Operation.UPDATE : Operation.DELETE;
      seq++;
      return create(CdcEventSchema, {
        sequence: seq, timestamp: r() < 0.2 ? 0n : 1_704_067_200_000n + seq, operation: op, table: key % 5 === 0 ? "other" : "orders", rowId: String(key),
        after: op === Operation.DELETE ? undefined : rowFromJson(row(key, phase, r)),
        before: op === Operation.INSERT ? undefined : rowFromJson(row(key, 0, r)),
        metadata: r() < 0.3 ? rowFromJson({ lsn: 2n ** 62n + seq, tx: Number(seq) }) : undefined,
      });
    });
    const msg = create(ClientMessageSchema, { message: { case: "cdcBatch", value: { sourceDoId: "src", sequenceNumber: BigInt(id), events } } });
    const format = id % 3 === 0 ? "json" : "binary";
    const payload = format === "json" ? new TextEncoder().encode(encodeClientMessage(msg, "json") as string) : toBinary(ClientMessageSchema, msg);
    batches.push({ id, sourceId: "src", batchNumber: BigInt(id), firstSequence: seq - 39n, lastSequence: seq, eventCount: 40, sizeBytes: payload.length, receivedAt: 1_800_000_000_000 + id, payload, format, logStart: BigInt((id - 1) * 40 + 1) });
  }
  return batches;
}

/** Flushes the batches in steps of `step` batches into a fresh store; everything deterministic. */
async function flushAll(batches: BufferedBatch[], step: number, decode: (b: BufferedBatch[]) => Map<string, CdcChange[]>) {
  const store = new MemoryObjectStore();
  type TableState = { mirror?: TableMetadata; changelog?: TableMetadata; index: Map<string, RowLocation> };
  const tables = new Map<string, TableState>();
  let snap = (1n << 62n) + 7n;
  let now = 1_900_000_000_000n;
  let uuid = 0;
  for (let i = 0; i < batches.length; i += step) {
    for (const [table, changes] of decode(batches.slice(i, i + step))) {
      const t: TableState = tables.get(table) ?? { index: new Map() };
      tables.set(table, t);
      const r = await writeCdcFlush({
        mirror: t.mirror, changelog: t.changelog, changes, store,
        index: { lookup: (ids) => new Map(ids.flatMap((id) => (t.index.has(id) ? [[id, t.index.get(id)!] as const] : []))) },
        options: { location: `s3://b/wh/ns/${table}`, detectTimestamps: true, rowGroupRows: 50 },
        clock: () => (now += 1000n), newSnapshotId: () => (snap += 1n), newUuid: () => `00000000-0000-4000-8000-${String(++uuid).padStart(12, "0")}`,
      });
      if (r.mirror) t.mirror = r.mirror.metadata;
      if (r.changelog) t.changelog = r.changelog.metadata;
      for (const id of r.index.deletes) t.index.delete(id);
      for (const [id, loc] of r.index.upserts) t.index.set(id, loc);
    }
  }
  return { store, tables };
}

describe("flush decode: new path vs the old one, file for file", () => {
  it("writes byte-identical files and metadata for binary and JSON frames, in steps of 1 and 5 batches", async () => {
    const batches = buffered();
    const grouped = (bs: BufferedBatch[]) => new Map([...groupByTable(bs)].map(([t, list]) => [t, list.map((c) => c.change)]));
    const previous = (bs: BufferedBatch[]) => {
      const m = new Map<string, CdcChange[]>();
      for (const c of oldChanges(bs)) {
        const table = tableOf(bs, c);
        (m.get(table) ?? m.set(table, []).get(table)!).push(c);
      }
      return m;
    };
    for (const step of [1, 5]) {
      const a = await flushAll(batches, step, grouped);
      const b = await flushAll(batches, step, previous);
      expect([...a.store.objects.keys()].sort()).toEqual([...b.store.objects.keys()].sort());
      for (const [key, bytes] of a.store.objects) expect(withoutSync(key, bytes).equals(withoutSync(key, b.store.objects.get(key)!)), key).toBe(true);
      // Table metadata too, but for the random table UUIDs.
      const meta = (t: typeof a.tables) => stringifyJson([...t].map(([name, x]) => [name, x.mirror, x.changelog, [...x.index]])).replace(/"table-uuid":"[^"]+"/g, "");
      expect(meta(a.tables) === meta(b.tables)).toBe(true);
      const orders = a.tables.get("orders")!.mirror!;
      const fields = orders.schemas.find((s) => s["schema-id"] === orders["current-schema-id"])!.fields.map((f) => `${f.name}:${String(f.type)}`);
      expect(fields).toEqual(["id:long", "big:long", "name:string", "amount:double", "flag:boolean", "at:timestamptz", "doc:string", "added:string", "neg:long"]);
      expect(a.store.objects.size).toBeGreaterThan(40);
    }
  });
});

/** Avro container files end each block with a random 16-byte sync marker: zeroed before comparing. */
function withoutSync(key: string, bytes: Uint8Array): Buffer {
  const b = Buffer.from(bytes);
  if (!key.endsWith(".avro")) return b;
  const sync = Buffer.from(b.subarray(b.length - 16));
  for (let at = b.indexOf(sync); at >= 0; at = b.indexOf(sync, at + 16)) b.fill(0, at, at + 16);
  return b;
}

/** The table of an old-path change (the old decode kept it on the event; found again by sequence). */
function tableOf(bs: BufferedBatch[], c: CdcChange): string {
  for (const b of bs) {
    const msg = b.format === "json" ? decodeClientFrame(new TextDecoder().decode(b.payload)).message : fromBinary(ClientMessageSchema, b.payload);
    if (msg.message.case !== "cdcBatch") continue;
    const e = msg.message.value.events.find((x) => x.sequence === c.sequence);
    if (e) return e.table;
  }
  throw new Error(`no event ${c.sequence}`);
}
