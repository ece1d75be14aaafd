/**
 * The longest synchronous stretches of a flush, in Node: the flush's own code between two of its
 * yields to the event queue (src/util/pace.ts), labelled by where the stretch ended. A Durable
 * Object cannot time these itself (workerd's clock stands still during synchronous code); its
 * acks wait for at most one stretch (bench/compaction/ack-latency.mjs --during flush measures
 * that through the real object). Same rows and steps as bench/flush/writer.ts; the primary-key
 * index is a Map here (SQLite in the object).
 */
import type { BufferedBatch } from "../../src/buffer/durable-buffer.js";
import { FLUSH_SLICE_UNITS, groupByTable } from "../../src/flush/flusher.js";
import { writeCdcFlush, type RowLocation } from "../../src/iceberg/cdc-writer.js";
import type { TableMetadata } from "../../src/iceberg/metadata/types.js";
import type { ObjectStore } from "../../src/iceberg/object-store.js";
import type { Pacer } from "../../src/util/pace.js";

export { bufferedBatches } from "./writer.js";

/** Per label: how many stretches ended there and the longest (ms). */
export type Stretches = Record<string, { count: number; maxMs: number; totalMs: number }>;

/** Flushes `batches` in steps of `stepBytes` and times every stretch between yield points. */
export async function measureStretches(batches: BufferedBatch[], stepBytes: number): Promise<Stretches> {
  const files = new Map<string, Uint8Array>();
  const store = { put: async (k: string, b: Uint8Array) => void files.set(k, b), get: async (k: string) => files.get(k) ?? null } as unknown as ObjectStore;
  const index = new Map<string, RowLocation>();
  const out: Stretches = {};
  let last = performance.now();
  const mark = (label: string) => {
    const t = performance.now();
    const s = (out[label] ??= { count: 0, maxMs: 0, totalMs: 0 });
    s.count++;
    s.maxMs = Math.max(s.maxMs, t - last);
    s.totalMs += t - last;
    last = t;
  };
  // A stretch is labelled by the function that called the pacer (the writer's phase, the paced
  // conversions, the Parquet writer after a column chunk) and the line it called from.
  const caller = (): string => {
    const frames = new Error().stack!.split("\n").slice(3).map((l) => l.trim().replace(/^at (async )?/, "").replace(/\(.*:(\d+):\d+\)$/, "line $1"));
    return frames.find((f) => !f.startsWith("phase ") && !f.startsWith("Object.spend")) ?? "?";
  };
  const pace: Pacer = {
    spend: (units) => void mark(units > 1 << 20 ? `${caller()} (> 1 MiB)` : caller()),
    pause: () => void mark("pause"),
  };
  let mirror: TableMetadata | undefined;
  let changelog: TableMetadata | undefined;
  let snap = 1n << 60n;
  for (let i = 0; i < batches.length; ) {
    let bytes = 0;
    let j = i;
    while (j < batches.length && (j === i || bytes + batches[j]!.sizeBytes <= stepBytes)) bytes += batches[j++]!.sizeBytes;
    last = performance.now();
    // As flusher.ts groupByTablePaced: slices of FLUSH_SLICE_UNITS payload bytes.
    const changes = [];
    for (let k = i; k < j; ) {
      let n = 0;
      let e = k;
      while (e < j && n < FLUSH_SLICE_UNITS) n += batches[e++]!.payload.length;
      for (const c of groupByTable(batches.slice(k, e)).get("orders") ?? []) changes.push(c.change);
      mark("decode slice");
      k = e;
    }
    const r = await writeCdcFlush({
      mirror, changelog, changes, store, index: { lookup: (ids) => new Map(ids.flatMap((id) => (index.has(id) ? [[id, index.get(id)!]] : []))) },
      options: { location: "s3://bench/warehouse/default/orders", compression: "snappy" },
      clock: () => BigInt(Date.now()), newSnapshotId: () => (snap += 1n), pace,
    });
    mark("step end (footer, manifests, manifest list)");
    mirror = r.mirror!.metadata;
    changelog = r.changelog!.metadata;
    for (const [id, loc] of r.index.upserts) index.set(id, loc);
    i = j;
  }
  return out;
}
