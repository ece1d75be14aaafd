// A compaction step's output streamed into a multipart upload (src/iceberg/object-upload.ts,
// compaction-output.ts) and its input read by ranges: R2's part rules (all parts but the last of
// one size, at least 5 MiB, the last no larger), the rows read back exactly, and the position map
// pointing every index entry at its row. Real R2 multipart (miniflare) and readers we did not
// write (pyiceberg, DuckDB) check a >5 MiB compacted file in test/python/cdc/test_compaction_large.py.
import { describe, expect, it } from "vitest";
import { writeCdcFlush, type CdcChange, type RowLocation } from "../../../src/iceberg/cdc-writer.js";
import { compactionCandidates, readTableFiles } from "../../../src/iceberg/compaction-plan.js";
import { compactPartition, remapPosition } from "../../../src/iceberg/compaction.js";
import type { TableMetadata } from "../../../src/iceberg/metadata/types.js";
import { keyForLocation, MemoryObjectStore } from "../../../src/iceberg/object-store.js";
import { MIN_PART_BYTES, StreamedObject } from "../../../src/iceberg/object-upload.js";
import { readParquet, readTable } from "./table-reader.js";

const MiB = 1024 * 1024;

function noise(n: number, seed: number): string {
  // Incompressible enough for snappy: a xorshift stream as letters.
  let x = seed | 1;
  let s = "";
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    s += String.fromCharCode(97 + ((x >>> 0) % 26));
  }
  return s;
}

describe("StreamedObject", () => {
  it("cuts parts of one size (the last no larger) and makes the object from them", async () => {
    const store = new MemoryObjectStore();
    const o = new StreamedObject(store, "k", MIN_PART_BYTES);
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (let i = 0; total < 12.5 * MiB; i++) {
      const c = new Uint8Array(300_000 + ((i * 7919) % 900_000)).fill(i % 251);
      chunks.push(c);
      total += c.length;
      await o.write(c);
    }
    await o.finish();
    const sizes = store.completedUploads[0]!.partSizes;
    expect(sizes.slice(0, -1).every((s) => s === MIN_PART_BYTES)).toBe(true);
    expect(sizes.at(-1)!).toBeLessThanOrEqual(MIN_PART_BYTES);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(total);
    const all = store.objects.get("k")!;
    let at = 0;
    for (const c of chunks) {
      expect(all[at]).toBe(c[0]);
      expect(all[at + c.length - 1]).toBe(c[c.length - 1]);
      at += c.length;
    }
  });

  it("puts an object smaller than one part in one request, and an aborted one never appears", async () => {
    const store = new MemoryObjectStore();
    const small = new StreamedObject(store, "small");
    await small.write(new Uint8Array(1000).fill(1));
    await small.finish();
    expect(store.completedUploads).toEqual([]);
    expect(store.objects.get("small")!.length).toBe(1000);
    const big = new StreamedObject(store, "big");
    await big.write(new Uint8Array(6 * MiB));
    await big.abort();
    expect(store.objects.has("big")).toBe(false);
    expect(() => new StreamedObject(store, "x", MiB)).toThrow(RangeError);
  });
});

describe("compactPartition streaming", () => {
  it("streams a >5 MiB output into a multipart upload and reads its inputs by ranges; rows and positions exact", async () => {
    const store = new MemoryObjectStore();
    const index = new Map<string, RowLocation>();
    const live = new Map<string, string>();
    let mirror: TableMetadata | undefined;
    let seq = 0n;
    let snap = (1n << 62n) + 1n;
    let now = 1_800_000_000_000n;
    const change = (operation: CdcChange["operation"], id: number, payload: string | null): CdcChange => ({
      operation, rowId: String(id), sequence: ++seq, timestamp: 1_700_000_000_000n + seq, source: "s", before: null,
      after: payload === null ? null : { id, payload }, metadata: null,
    });
    for (let f = 0; f < 5; f++) {
      const changes: CdcChange[] = [];
      for (let i = 0; i < 900; i++) {
        const id = f * 900 + i;
        const payload = noise(3000, id + 1);
        changes.push(change("INSERT", id, payload));
        live.set(String(id), payload);
      }
      if (f > 0) {
        for (let i = 0; i < 40; i++) {
          const id = (f - 1) * 900 + i * 7;
          if (i % 2) { changes.push(change("DELETE", id, null)); live.delete(String(id)); }
          else { const p = noise(3000, 10_000 + id * (f + 1)); changes.push(change("UPDATE", id, p)); live.set(String(id), p); }
        }
      }
      const r = await writeCdcFlush({
        mirror, changelog: undefined, changes, store,
        index: { lookup: (ids) => new Map(ids.flatMap((id) => (index.has(id) ? [[id, index.get(id)!] as const] : []))) },
        options: { location: "s3://bucket/wh/ns/big", changelog: false } as never,
        clock: () => (now += 1000n), newSnapshotId: () => (snap += 1n),
      });
      mirror = r.mirror!.metadata;
      for (const id of r.index.deletes) index.delete(id);
      for (const [id, loc] of r.index.upserts) index.set(id, loc);
    }
    const keyFor = keyForLocation;
    const files = (await readTableFiles(mirror!, store, keyFor))!;
    const [candidate] = compactionCandidates(files, { minFilesToCompact: 2, maxFilesToCompact: 100, targetFileSizeBytes: 128 * MiB, maxBytesPerStep: 64 * MiB, maxBytesPerSlice: 2 * MiB, autoCompact: false, compactionIntervalMs: 3_600_000 });
    expect(candidate!.files).toHaveLength(5);
    const c = await compactPartition({
      metadata: mirror!, files, candidate: candidate!, store, keyFor, written: [], now, snapshotId: (snap += 1n),
      parquet: { compression: "snappy", rowGroupRows: 500 }, targetFileSizeBytes: 128 * MiB, wholeReadBytes: 0,
    });
    expect(c.stats).toMatchObject({ rewrittenFiles: 5, addedFiles: 1, rowsKept: live.size });
    const [upload] = store.completedUploads;
    expect(upload!.partSizes.length).toBeGreaterThanOrEqual(2);
    expect(upload!.partSizes.slice(0, -1).every((s) => s === MIN_PART_BYTES)).toBe(true);
    expect(c.stats.addedBytes).toBeGreaterThan(MIN_PART_BYTES);
    const got = await readTable(store, c.commit.metadata);
    expect(new Map(got.map((r) => [String(r.id), r.payload as string]))).toEqual(live);
    // Every index entry, through the position map, names its own row in the new file.
    const out = await readParquet(store, c.remap.outputs[0]!.path);
    for (const [id, loc] of index) {
      const to = remapPosition(c.remap, loc.filePath, Number(loc.pos));
      expect(to).toBeTruthy();
      expect(String(out[to!.pos]!.id)).toBe(id);
    }
  }, 120_000);
});
