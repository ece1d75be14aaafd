// Manifest merging at commit (Iceberg's commit.manifest.min-count-to-merge semantics): the count of
// manifests per snapshot stays bounded, merged entries keep their snapshot ids and data sequence
// numbers (so position deletes still apply to older files only), and every snapshot reads right.
import { describe, expect, it } from "vitest";
import { writeCdcFlush, type CdcChange, type RowLocation } from "../../../src/iceberg/cdc-writer.js";
import { EntryStatus } from "../../../src/iceberg/data-file.js";
import { readManifest } from "../../../src/iceberg/manifest.js";
import { readManifestList } from "../../../src/iceberg/manifest-list.js";
import { mergePolicy } from "../../../src/iceberg/manifest-merge.js";
import type { TableMetadata } from "../../../src/iceberg/metadata/types.js";
import { keyForLocation, MemoryObjectStore } from "../../../src/iceberg/object-store.js";
import type { JsonObject } from "../../../src/util/json.js";
import { readTable } from "./table-reader.js";

async function manifestsOf(store: MemoryObjectStore, m: TableMetadata) {
  const snap = m.snapshots.find((s) => s["snapshot-id"] === m["current-snapshot-id"])!;
  return readManifestList((await store.get(keyForLocation(snap["manifest-list"])))!);
}

describe("manifest merging", () => {
  it("reads the table properties with Iceberg's defaults", () => {
    expect(mergePolicy({})).toEqual({ enabled: true, minCountToMerge: 100, targetSizeBytes: 8 << 20 });
    expect(mergePolicy({ "commit.manifest-merge.enabled": "false", "commit.manifest.min-count-to-merge": "4" })).toMatchObject({ enabled: false, minCountToMerge: 4 });
  });

  it("keeps at most min-count manifests per content, keeps entries' sequence numbers, and every snapshot reads the oracle", async () => {
    const store = new MemoryObjectStore();
    const index = new Map<string, RowLocation>();
    const state = new Map<string, JsonObject>();
    const states: [bigint, Map<string, JsonObject>][] = [];
    let mirror: TableMetadata | undefined;
    let changelog: TableMetadata | undefined;
    let snap = 1n << 60n;
    let now = 1_800_000_000_000n;
    let seq = 0n;
    const addedSeq = new Map<string, bigint>(); // data file -> sequence number of the snapshot that added it
    let merges = 0;
    for (let f = 0; f < 14; f++) {
      const changes: CdcChange[] = [];
      const op = (operation: CdcChange["operation"], id: number, after: JsonObject | null) => changes.push({ operation, rowId: String(id), sequence: ++seq, timestamp: 0n, source: "s", before: null, after, metadata: null });
      for (let i = 0; i < 3; i++) op("INSERT", f * 10 + i, { id: f * 10 + i, v: `f${f}` });
      if (f > 0) op("UPDATE", (f - 1) * 10, { id: (f - 1) * 10, v: `u${f}` });
      if (f > 1) op("DELETE", (f - 2) * 10 + 1, null);
      for (const c of changes) c.operation === "DELETE" ? state.delete(c.rowId) : state.set(c.rowId, c.after!);
      const r = await writeCdcFlush({
        mirror, changelog, changes, store, index: { lookup: (ids) => new Map(ids.flatMap((id) => (index.has(id) ? [[id, index.get(id)!] as const] : []))) },
        options: { location: "s3://b/wh/ns/t", partitionBy: [{ column: "id", transform: "bucket[2]" }], properties: { "commit.manifest.min-count-to-merge": "4" } },
        clock: () => (now += 1000n), newSnapshotId: () => (snap += 3n),
      });
      for (const id of r.index.deletes) index.delete(id);
      for (const [id, loc] of r.index.upserts) index.set(id, loc);
      mirror = r.mirror!.metadata;
      changelog = r.changelog!.metadata;
      states.push([r.mirror!.snapshot["snapshot-id"], new Map(state)]);
      for (const loc of r.index.upserts.values()) if (!addedSeq.has(loc.filePath)) addedSeq.set(loc.filePath, r.mirror!.snapshot["sequence-number"]);
      if (r.mirror!.snapshot.summary["manifests-replaced"]) merges++;

      const list = await manifestsOf(store, mirror);
      expect(list.filter((m) => m.content === 0).length).toBeLessThan(4);
      expect(list.filter((m) => m.content === 1).length).toBeLessThan(4);
      for (const mf of list) {
        for (const e of readManifest((await store.get(keyForLocation(mf.manifestPath)))!, mirror["partition-specs"][0]!, mirror.schemas.at(-1)!)) {
          const dataSeq = e.sequenceNumber ?? mf.sequenceNumber;
          if (e.dataFile.content === 0) expect(dataSeq).toBe(addedSeq.get(e.dataFile.filePath));
          if (e.status === EntryStatus.EXISTING) expect(e.snapshotId).not.toBeNull();
        }
      }
    }
    expect(merges).toBeGreaterThanOrEqual(3);
    for (const [id, expected] of states) {
      const rows = await readTable(store, mirror!, id);
      expect(Object.fromEntries(rows.map((r) => [String(r.id), r.v]))).toEqual(Object.fromEntries([...expected].map(([k, v]) => [k, v.v])));
    }
  });

  it("does not merge when commit.manifest-merge.enabled is false", async () => {
    const store = new MemoryObjectStore();
    let mirror: TableMetadata | undefined;
    let changelog: TableMetadata | undefined;
    let s = 1n;
    for (let f = 0; f < 6; f++) {
      const r = await writeCdcFlush({
        mirror, changelog, store, index: { lookup: () => new Map() },
        changes: [{ operation: "INSERT", rowId: String(f), sequence: BigInt(f + 1), timestamp: 0n, source: "s", before: null, after: { id: f }, metadata: null }],
        options: { location: "s3://b/wh/ns/u", properties: { "commit.manifest-merge.enabled": "false", "commit.manifest.min-count-to-merge": "2" } },
        clock: () => 1n, newSnapshotId: () => ++s,
      });
      mirror = r.mirror!.metadata;
      changelog = r.changelog!.metadata;
    }
    expect((await manifestsOf(store, mirror!)).length).toBe(6);
  });
});
