// Snapshot expiry riding on the CDC writer's commits: the retention properties decide which
// snapshots go, the files only they reached are reported for deletion, and after deleting them
// every kept snapshot still reads its state (no expired file still referenced).
import { describe, expect, it } from "vitest";
import { writeCdcFlush, type CdcChange, type RowLocation } from "../../../src/iceberg/cdc-writer.js";
import { EXPIRE_BATCH, retentionPolicy, snapshotsToExpire } from "../../../src/iceberg/expire.js";
import { readManifest } from "../../../src/iceberg/manifest.js";
import { readManifestList } from "../../../src/iceberg/manifest-list.js";
import type { TableMetadata } from "../../../src/iceberg/metadata/types.js";
import { keyForLocation, MemoryObjectStore } from "../../../src/iceberg/object-store.js";
import type { JsonObject } from "../../../src/util/json.js";
import { readTable } from "./table-reader.js";

/** Every location a table's snapshots reference. */
async function referenced(store: MemoryObjectStore, m: TableMetadata): Promise<Set<string>> {
  const out = new Set<string>();
  for (const s of m.snapshots) {
    out.add(s["manifest-list"]);
    for (const mf of readManifestList((await store.get(keyForLocation(s["manifest-list"])))!)) {
      out.add(mf.manifestPath);
      const spec = m["partition-specs"].find((p) => p["spec-id"] === mf.partitionSpecId)!;
      for (const e of readManifest((await store.get(keyForLocation(mf.manifestPath)))!, spec, m.schemas.at(-1)!)) out.add(e.dataFile.filePath);
    }
  }
  return out;
}

describe("snapshot expiry", () => {
  it("keeps ref heads, the last min-snapshots-to-keep ancestors and young snapshots", () => {
    const snaps = [1n, 2n, 3n, 4n, 5n].map((id) => ({ "snapshot-id": id, "timestamp-ms": id * 1000n, "sequence-number": id, "manifest-list": "x", summary: { operation: "append" }, ...(id > 1n ? { "parent-snapshot-id": id - 1n } : {}) }));
    const m = { snapshots: snaps, refs: { main: { "snapshot-id": 5n, type: "branch" }, old: { "snapshot-id": 1n, type: "tag" } }, properties: { "history.expire.max-snapshot-age-ms": "1500", "history.expire.min-snapshots-to-keep": "2" } } as unknown as TableMetadata;
    expect(retentionPolicy(m.properties)).toEqual({ maxSnapshotAgeMs: 1500n, minSnapshotsToKeep: 2 });
    expect(snapshotsToExpire(m, 5000n)).toEqual([2n, 3n]); // 1 tagged, 4-5 the last two, none young enough
    expect(snapshotsToExpire(m, 4400n)).toEqual([2n]); // 3 is younger than 1.5 s
    expect(retentionPolicy({})).toEqual({ maxSnapshotAgeMs: 432_000_000n, minSnapshotsToKeep: 1 });
  });

  it("expires old snapshots in batches; deleting what it reports leaves every kept snapshot readable", async () => {
    const store = new MemoryObjectStore();
    const index = new Map<string, RowLocation>();
    const state = new Map<string, JsonObject>();
    const states = new Map<bigint, Map<string, JsonObject>>();
    let mirror: TableMetadata | undefined;
    let changelog: TableMetadata | undefined;
    let snap = 1n << 60n;
    let now = 1_800_000_000_000n;
    let seq = 0n;
    let expiries = 0;
    const deleted: string[] = [];
    for (let f = 0; f < 40; f++) {
      const changes: CdcChange[] = [];
      const op = (operation: CdcChange["operation"], id: number, after: JsonObject | null) => changes.push({ operation, rowId: String(id), sequence: ++seq, timestamp: 0n, source: "s", before: null, after, metadata: null });
      op("INSERT", f, { id: f, v: `f${f}` });
      if (f > 0) op("UPDATE", f - 1, { id: f - 1, v: `u${f}` });
      if (f > 3) op("DELETE", f - 4, null);
      for (const c of changes) c.operation === "DELETE" ? state.delete(c.rowId) : state.set(c.rowId, c.after!);
      const r = await writeCdcFlush({
        mirror, changelog, changes, store, index: { lookup: (ids) => new Map(ids.flatMap((id) => (index.has(id) ? [[id, index.get(id)!] as const] : []))) },
        options: {
          location: "s3://b/wh/ns/t",
          properties: { "commit.manifest.min-count-to-merge": "3", "history.expire.max-snapshot-age-ms": "5000", "history.expire.min-snapshots-to-keep": "3" },
          changelogProperties: { "history.expire.max-snapshot-age-ms": "1000000" },
        },
        clock: () => (now += 1000n), newSnapshotId: () => (snap += 3n),
      });
      for (const id of r.index.deletes) index.delete(id);
      for (const [id, loc] of r.index.upserts) index.set(id, loc);
      mirror = r.mirror!.metadata;
      changelog = r.changelog!.metadata;
      states.set(r.mirror!.snapshot["snapshot-id"], new Map(state));
      expect(r.changelog!.expiredFiles).toEqual([]); // the changelog keeps its own, longer history
      if (r.mirror!.expiredFiles.length) {
        expiries++;
        expect(r.mirror!.updates.find((u) => u.action === "remove-snapshots")).toBeTruthy();
        const live = await referenced(store, mirror);
        for (const loc of r.mirror!.expiredFiles) {
          expect(live.has(loc)).toBe(false);
          store.objects.delete(keyForLocation(loc));
          deleted.push(loc);
        }
      }
      expect(mirror.snapshots.length).toBeLessThanOrEqual(6 + EXPIRE_BATCH);
    }
    expect(expiries).toBeGreaterThanOrEqual(2);
    expect(deleted.some((l) => l.includes("/snap-"))).toBe(true);
    expect(deleted.some((l) => l.endsWith(".avro") && !l.includes("/snap-"))).toBe(true); // merged-away manifests
    expect(changelog!.snapshots.length).toBe(40);
    for (const s of mirror!.snapshots) {
      const rows = await readTable(store, mirror!, s["snapshot-id"]);
      expect(Object.fromEntries(rows.map((r) => [String(r.id), r.v]))).toEqual(Object.fromEntries([...states.get(s["snapshot-id"])!].map(([k, v]) => [k, v.v])));
    }
  });
});
