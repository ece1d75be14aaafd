/**
 * Our side of the flush bench, in Node: buffered cdc_batch payloads (binary ClientMessages, as
 * src/buffer stores them) -> src/flush/flusher.ts groupByTable (decode to CdcChanges, as the
 * DO's flush does) -> src/iceberg/cdc-writer.ts writeCdcFlush into a
 * local-folder ObjectStore -> committed metadata. Flushes either in steps of `stepBytes` of
 * payload (as src/flush/flusher.ts flushBuffer does with maxFlushBytes: one snapshot per step)
 * or all at once.
 */
import { mkdirSync, writeFileSync, readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import type { BufferedBatch } from "../../src/buffer/durable-buffer.js";
import { groupByTable } from "../../src/flush/flusher.js";
import { writeCdcFlush, type RowLocation } from "../../src/iceberg/cdc-writer.js";
import type { TableMetadata } from "../../src/iceberg/metadata/types.js";
import type { ObjectStore } from "../../src/iceberg/object-store.js";
import { stringifyJson } from "../../src/util/json.js";
import { toBinary } from "@bufbuild/protobuf";
import { ClientMessageSchema } from "../../gen/dolake/cdc/v1/cdc_pb.js";
import { batchMessage, makeRow } from "../lib/workload.js";

/** An ObjectStore over a local folder (what DuckDB's COPY writes to as well). */
export class FolderStore implements ObjectStore {
  bytesWritten = 0;
  files = 0;
  constructor(private readonly dir: string) {}
  async put(key: string, bytes: Uint8Array): Promise<void> {
    const path = join(this.dir, key);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes);
    this.bytesWritten += bytes.byteLength;
    this.files++;
  }
  async get(key: string): Promise<Uint8Array | null> {
    const path = join(this.dir, key);
    return existsSync(path) ? new Uint8Array(readFileSync(path)) : null;
  }
}

class MapIndex {
  readonly map = new Map<string, RowLocation>();
  lookup(ids: string[]): Map<string, RowLocation> {
    const out = new Map<string, RowLocation>();
    for (const id of ids) {
      const l = this.map.get(id);
      if (l) out.set(id, l);
    }
    return out;
  }
}

/** The buffer's content for `rows` INSERTs of the bench row, in batches of `batch` events. */
export function bufferedBatches(rows: number, batch: number): BufferedBatch[] {
  const out: BufferedBatch[] = [];
  for (let first = 1, id = 1; first <= rows; first += batch, id++) {
    const n = Math.min(batch, rows - first + 1);
    const payload = toBinary(ClientMessageSchema, batchMessage("bench-src", id, first, n));
    out.push({ id, sourceId: "bench-src", batchNumber: BigInt(id), firstSequence: BigInt(first), lastSequence: BigInt(first + n - 1), eventCount: n, sizeBytes: payload.byteLength, receivedAt: Date.now(), payload, format: "binary", logStart: BigInt(first) });
  }
  return out;
}

/** Writes the bench rows as NDJSON (the same rows, for DuckDB). */
export function writeNdjson(path: string, rows: number): void {
  const parts: string[] = [];
  for (let i = 1; i <= rows; i++) parts.push(stringifyJson(makeRow(i)));
  writeFileSync(path, parts.join("\n") + "\n");
}

/** Timings of one flush run (ms). */
export interface FlushRun {
  rows: number;
  steps: number;
  payloadBytes: number;
  bytesWritten: number;
  files: number;
  decodeMs: number;
  writeMs: number;
  totalMs: number;
  mirrorSchema: string[];
}

/** Flushes `batches` into fresh tables under `dir`, in steps of at most `stepBytes` of payload. */
export async function flush(batches: BufferedBatch[], dir: string, stepBytes: number): Promise<FlushRun> {
  const store = new FolderStore(dir);
  const index = new MapIndex();
  let mirror: TableMetadata | undefined;
  let changelog: TableMetadata | undefined;
  let snap = 1n << 60n;
  let decodeMs = 0, writeMs = 0, steps = 0;
  const t0 = performance.now();
  for (let i = 0; i < batches.length; ) {
    // As DurableBuffer.take: at least one batch, then up to stepBytes.
    let bytes = 0;
    let j = i;
    while (j < batches.length && (j === i || bytes + batches[j]!.sizeBytes <= stepBytes)) bytes += batches[j++]!.sizeBytes;
    const a = performance.now();
    const byTable = groupByTable(batches.slice(i, j));
    const changes = byTable.get("orders")!.map((c) => c.change);
    const b = performance.now();
    const r = await writeCdcFlush({
      mirror, changelog, changes, store, index,
      options: { location: `s3://bench/warehouse/default/orders`, compression: "snappy", targetFileSizeBytes: 128 * 2 ** 20, rowGroupRows: 100_000 },
      clock: () => BigInt(Date.now()), newSnapshotId: () => (snap += 1n),
    });
    if (r.mirror) mirror = r.mirror.metadata;
    if (r.changelog) changelog = r.changelog.metadata;
    for (const id of r.index.deletes) index.map.delete(id);
    for (const [id, loc] of r.index.upserts) index.map.set(id, loc);
    writeMs += performance.now() - b;
    decodeMs += b - a;
    steps++;
    i = j;
  }
  const schema = mirror!.schemas.find((s) => s["schema-id"] === mirror!["current-schema-id"])!;
  return {
    rows: batches.reduce((n, b) => n + b.eventCount, 0), steps, payloadBytes: batches.reduce((n, b) => n + b.sizeBytes, 0),
    bytesWritten: store.bytesWritten, files: store.files, decodeMs, writeMs, totalMs: performance.now() - t0,
    mirrorSchema: schema.fields.map((f) => `${f.name}:${String(f.type)}`),
  };
}
