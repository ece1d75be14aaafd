// The CDC writer end to end over an in-memory store: mirror semantics (collapse, upsert, position
// deletes), changelog, schema evolution, commit requirements and summaries, partitioned tables.
import { describe, expect, it } from "vitest";
import { writeCdcFlush, type CdcChange, type CdcFlushInput, type CdcWriterOptions, type RowLocation } from "../../../src/iceberg/cdc-writer.js";
import { MemoryObjectStore } from "../../../src/iceberg/object-store.js";
import { SchemaConflictError } from "../../../src/iceberg/schema-infer.js";
import type { TableMetadata } from "../../../src/iceberg/metadata/types.js";
import type { JsonObject } from "../../../src/util/json.js";
import { readManifest } from "../../../src/iceberg/manifest.js";
import { readManifestList } from "../../../src/iceberg/manifest-list.js";
import { keyForLocation } from "../../../src/iceberg/object-store.js";
import { DELETE_FILE_PATH_ID, DELETE_POS_ID } from "../../../src/iceberg/position-deletes.js";
import { readParquet, readTable } from "./table-reader.js";
import { CHANGELOG_SCHEMA } from "../../../src/iceberg/changelog.js";
import { newTableMetadata } from "../../../src/iceberg/metadata/new-table.js";

class MapIndex {
  readonly map = new Map<string, RowLocation>();
  lookup(ids: string[]): Map<string, RowLocation> {
    return new Map(ids.flatMap((id) => (this.map.has(id) ? [[id, this.map.get(id)!] as const] : [])));
  }
  apply(r: { upserts: Map<string, RowLocation>; deletes: string[] }): void {
    for (const id of r.deletes) this.map.delete(id);
    for (const [id, loc] of r.upserts) this.map.set(id, loc);
  }
}

let seq = 0n;
function change(operation: CdcChange["operation"], rowId: string, after: JsonObject | null, before: JsonObject | null = null): CdcChange {
  seq++;
  return { operation, rowId, sequence: seq, timestamp: 1_700_000_000_000n + seq, source: "do-1", before, after, metadata: null };
}

function harness(options: Partial<CdcWriterOptions> = {}) {
  const store = new MemoryObjectStore();
  const index = new MapIndex();
  let mirror: TableMetadata | undefined;
  let changelog: TableMetadata | undefined;
  let snap = (1n << 62n) + 100n; // ids above 2^53
  let now = 1_800_000_000_000n;
  return {
    store,
    index,
    get mirror() {
      return mirror;
    },
    get changelog() {
      return changelog;
    },
    async flush(changes: CdcChange[]) {
      const input: CdcFlushInput = {
        mirror, changelog, changes, store, index,
        options: { location: "s3://bucket/wh/ns/orders", ...options },
        clock: () => (now += 1000n), newSnapshotId: () => (snap += 1n),
      };
      const r = await writeCdcFlush(input);
      if (r.mirror) mirror = r.mirror.metadata;
      if (r.changelog) changelog = r.changelog.metadata;
      index.apply(r.index);
      return r;
    },
  };
}

const byId = (rows: Record<string, unknown>[]) => Object.fromEntries(rows.map((r) => [String(r.id), r]));

describe("writeCdcFlush", () => {
  it("gives changelog rows their log position and ack time, and the snapshot its position range", async () => {
    const h = harness();
    const changes = [change("INSERT", "1", { id: 1 }), change("UPDATE", "1", { id: 1 })].map((c, i) => ({ ...c, logPosition: (1n << 60n) + BigInt(i), ackedAt: 1_750_000_000_000n }));
    await h.flush(changes);
    const rows = await readTable(h.store, h.changelog!);
    const at = new Date(1_750_000_000_000);
    expect(rows.map((r) => [r.log_position, r.acked_at])).toEqual([
      [1n << 60n, at],
      [(1n << 60n) + 1n, at],
    ]);
    expect(h.changelog!.snapshots.at(-1)!.summary).toMatchObject({ "dolake.log-position-min": String(1n << 60n), "dolake.log-position-max": String((1n << 60n) + 1n) });
  });

  it("summarizes in each mirror snapshot its log positions and each source's highest sequence", async () => {
    const h = harness();
    const base = [change("INSERT", "1", { id: 1 }), { ...change("INSERT", "2", { id: 2 }), source: "do-2" }, change("UPDATE", "1", { id: 1, v: 2 })];
    const changes = base.map((c, i) => ({ ...c, logPosition: 40n + BigInt(i), ackedAt: 1n }));
    await h.flush(changes);
    const summary = h.mirror!.snapshots.at(-1)!.summary!;
    expect(summary).toMatchObject({ "dolake.changes": "3", "dolake.log-position-min": "40", "dolake.log-position-max": "42" });
    expect(JSON.parse(summary["dolake.source-sequences"]!)).toEqual({ "do-1": String(changes[2]!.sequence), "do-2": String(changes[1]!.sequence) });
    // A flush of more sources than MAX_SUMMARY_SOURCES names none (the summary stays small).
    await h.flush(Array.from({ length: 65 }, (_, i) => ({ ...change("INSERT", `s${i}`, { id: 100 + i }), source: `src-${i}` })));
    expect(h.mirror!.snapshots.at(-1)!.summary).not.toHaveProperty("dolake.source-sequences");
  });

  it("adds log_position and acked_at to a changelog created before them", async () => {
    const legacy = { ...CHANGELOG_SCHEMA, fields: CHANGELOG_SCHEMA.fields.filter((f) => f.id <= 9) };
    const changelog = newTableMetadata({ schema: legacy, location: "s3://bucket/wh/ns/orders__changelog", now: 1n });
    const r = await writeCdcFlush({
      mirror: undefined, changelog, changes: [{ ...change("INSERT", "1", { id: 1 }), logPosition: 7n, ackedAt: 5n }], store: new MemoryObjectStore(), index: new MapIndex(),
      options: { location: "s3://bucket/wh/ns/orders" }, clock: () => 2n, newSnapshotId: () => 9n,
    });
    const m = r.changelog!.metadata;
    const schema = m.schemas.find((s) => s["schema-id"] === m["current-schema-id"])!;
    expect(schema.fields.slice(9).map((f) => [f.id, f.name, f.type, f.required])).toEqual([[10, "log_position", "long", false], [11, "acked_at", "timestamptz", false]]);
    expect(m["last-column-id"]).toBe(11);
    expect(r.changelog!.updates.map((u) => u.action)).toContain("add-schema");
  });

  it("creates both tables on the first flush and mirrors inserts", async () => {
    const h = harness();
    const r = await h.flush([change("INSERT", "1", { id: 1, name: "a" }), change("INSERT", "2", { id: 2, name: "b" })]);
    expect(r.mirror!.created).toBe(true);
    expect(r.mirror!.requirements).toEqual([{ type: "assert-create" }]);
    expect(r.mirror!.updates.map((u) => u.action)).toEqual(["assign-uuid", "upgrade-format-version", "add-schema", "set-current-schema", "add-spec", "set-default-spec", "add-sort-order", "set-default-sort-order", "set-location", "set-properties", "add-snapshot", "set-snapshot-ref"]);
    expect(r.mirror!.snapshot["sequence-number"]).toBe(1n);
    expect(r.mirror!.snapshot.summary).toMatchObject({ operation: "append", "added-records": "2", "total-records": "2", "total-data-files": "1" });
    expect(r.changelog!.metadata.location).toBe("s3://bucket/wh/ns/orders__changelog");
    expect(h.mirror!.schemas[0]!.fields).toEqual([
      { id: 1, name: "id", required: false, type: "long" },
      { id: 2, name: "name", required: false, type: "string" },
    ]);
    expect(byId(await readTable(h.store, h.mirror!))).toEqual({ "1": { id: 1n, name: "a" }, "2": { id: 2n, name: "b" } });
    expect(r.index.upserts.get("2")).toEqual({ filePath: expect.stringMatching(/^s3:\/\/bucket\/wh\/ns\/orders\/data\/.*\.parquet$/), pos: 1n, partition: [], specId: 0 });
    expect(r.filesWritten.length).toBe(6); // 2 x (data file, manifest, manifest list)
    for (const f of r.filesWritten) expect(h.store.objects.has(f.replace("s3://bucket/", ""))).toBe(true);
  });

  it("collapses changes per row, writes position deletes, and evolves the schema", async () => {
    const h = harness();
    const first = await h.flush([change("INSERT", "1", { id: 1, name: "a" }), change("INSERT", "2", { id: 2, name: "b" }), change("INSERT", "3", { id: 3, name: "c" })]);
    const oldLoc = first.index.upserts.get("2")!;
    const r = await h.flush([
      change("UPDATE", "2", { id: 2, name: "b2" }),
      change("UPDATE", "2", { id: 2, name: "b3", tags: ["x"] }), // collapses to this one
      change("DELETE", "3", null, { id: 3 }),
      change("INSERT", "4", { id: 4, name: "d", price: 1.5 }),
      change("UPDATE", "5", { id: 5, name: "e" }), // never seen: inserted
      change("DELETE", "99", null), // unknown: no-op
      change("INSERT", "6", { id: 6 }),
      change("DELETE", "6", null), // born and gone in one flush: nothing written
    ]);
    const m = r.mirror!;
    expect(m.created).toBe(false);
    expect(m.requirements).toContainEqual({ type: "assert-ref-snapshot-id", ref: "main", "snapshot-id": first.mirror!.snapshot["snapshot-id"] });
    expect(m.updates.map((u) => u.action)).toEqual(["add-schema", "set-current-schema", "add-snapshot", "set-snapshot-ref"]);
    expect(m.snapshot["sequence-number"]).toBe(2n);
    expect(m.snapshot["parent-snapshot-id"]).toBe(first.mirror!.snapshot["snapshot-id"]);
    expect(m.snapshot.summary).toMatchObject({ operation: "overwrite", "added-records": "3", "added-position-deletes": "2", "total-records": "6", "total-position-deletes": "2", "total-delete-files": "1", "manifests-kept": "1" });
    const schema = m.metadata.schemas.find((s) => s["schema-id"] === m.metadata["current-schema-id"])!;
    expect(schema.fields.map((f) => [f.id, f.name, f.type])).toEqual([[1, "id", "long"], [2, "name", "string"], [3, "tags", "string"], [4, "price", "double"]]);
    expect(m.metadata["last-column-id"]).toBe(4);
    expect(byId(await readTable(h.store, h.mirror!))).toEqual({
      "1": { id: 1n, name: "a", tags: null, price: null },
      "2": { id: 2n, name: "b3", tags: '["x"]', price: null },
      "4": { id: 4n, name: "d", tags: null, price: 1.5 },
      "5": { id: 5n, name: "e", tags: null, price: null },
    });
    expect(r.index.deletes).toEqual(["3"]);
    expect([...r.index.upserts.keys()].sort()).toEqual(["2", "4", "5"]);
    const deleteFile = r.filesWritten.find((f) => f.endsWith("-deletes.parquet"))!;
    expect(await readParquet(h.store, deleteFile)).toEqual([
      { file_path: oldLoc.filePath, pos: 1n },
      { file_path: oldLoc.filePath, pos: 2n },
    ]);
    // time travel: the first snapshot still shows the first state
    expect(Object.keys(byId(await readTable(h.store, h.mirror!, first.mirror!.snapshot["snapshot-id"])))).toEqual(["1", "2", "3"]);
    // the changelog has every change, in order
    const log = (await readTable(h.store, h.changelog!)).sort((a, b) => Number((a.sequence as bigint) - (b.sequence as bigint)));
    expect(log.map((l) => [l.operation, l.row_id])).toEqual([
      ["INSERT", "1"], ["INSERT", "2"], ["INSERT", "3"],
      ["UPDATE", "2"], ["UPDATE", "2"], ["DELETE", "3"], ["INSERT", "4"], ["UPDATE", "5"], ["DELETE", "99"], ["INSERT", "6"], ["DELETE", "6"],
    ]);
    expect(log[3]!.after).toBe('{"id":2,"name":"b2"}');
    expect(h.changelog!.snapshots).toHaveLength(2);
  });

  it("refuses an incompatible change with SchemaConflictError and writes nothing", async () => {
    const h = harness();
    await h.flush([change("INSERT", "1", { id: 1, qty: 3 })]);
    const before = h.store.objects.size;
    const err = await h.flush([change("INSERT", "2", { id: 2, qty: 1.5 })]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaConflictError);
    expect((err as SchemaConflictError).column).toBe("qty");
    expect(h.store.objects.size).toBe(before);
  });

  it("keeps 64-bit values exact and widens a new column seen as long then double", async () => {
    const h = harness();
    const big = 9007199254740993n;
    await h.flush([change("INSERT", "1", { id: big, x: 1 }), change("INSERT", "2", { id: 2, x: 2.5 })]);
    expect(h.mirror!.schemas[0]!.fields.find((f) => f.name === "x")!.type).toBe("double");
    expect(byId(await readTable(h.store, h.mirror!))[String(big)]).toEqual({ id: big, x: 1 });
  });

  it("writes delete files in the partition of the data file they target", async () => {
    const h = harness({ partitionBy: [{ column: "id", transform: "bucket[4]" }] });
    await h.flush([1, 2, 3, 4, 5, 6].map((i) => change("INSERT", String(i), { id: i, v: "a" })));
    expect(h.mirror!["partition-specs"][0]!.fields).toEqual([{ "source-id": 1, "field-id": 1000, name: "id_bucket", transform: "bucket[4]" }]);
    const r = await h.flush([change("UPDATE", "3", { id: 3, v: "b" }), change("DELETE", "6", null)]);
    const rows = byId(await readTable(h.store, h.mirror!));
    expect(Object.keys(rows).sort()).toEqual(["1", "2", "3", "4", "5"]);
    expect(rows["3"]!.v).toBe("b");
    for (const f of r.filesWritten.filter((p) => p.endsWith(".parquet") && !p.includes("__changelog"))) expect(f).toMatch(/\/data\/id_bucket=\d\//);
  });

  it("writes whole file_path bounds into delete files' manifest entries (Java's forPositionDelete)", async () => {
    const h = harness();
    await h.flush([1, 2, 3].map((i) => change("INSERT", String(i), { id: i })));
    const second = await h.flush([4, 5].map((i) => change("INSERT", String(i), { id: i })));
    const r = await h.flush([change("DELETE", "1", null), change("DELETE", "5", null)]);
    const paths = [h.index.map.get("2")!.filePath, [...second.index.upserts.values()][0]!.filePath].sort();
    expect(paths[0]!.length).toBeGreaterThan(16);
    const snap = r.mirror!.snapshot;
    const list = readManifestList((await h.store.get(keyForLocation(snap["manifest-list"])))!);
    const schema = h.mirror!.schemas.at(-1)!;
    const mf = list.find((m) => m.content === 1)!;
    const [entry] = readManifest((await h.store.get(keyForLocation(mf.manifestPath)))!, h.mirror!["partition-specs"][0]!, schema);
    const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);
    expect(text(entry!.dataFile.lowerBounds.get(DELETE_FILE_PATH_ID))).toBe(paths[0]);
    expect(text(entry!.dataFile.upperBounds.get(DELETE_FILE_PATH_ID))).toBe(paths[1]);
    expect(entry!.dataFile.lowerBounds.get(DELETE_POS_ID)).toEqual(new Uint8Array(8)); // pos 0, long little-endian
  });

  it("finds the partitions of deleted rows in the index, not in the manifests; index entries without them still work", async () => {
    const h = harness({ partitionBy: [{ column: "id", transform: "bucket[4]" }, { column: "big", transform: "identity" }] });
    const big = 9007199254740993n;
    for (let f = 0; f < 3; f++) await h.flush([1, 2, 3, 4].map((i) => change("INSERT", String(f * 10 + i), { id: f * 10 + i, big, v: "a" })));
    expect(h.index.map.get("2")!.partition).toEqual([expect.any(Number), big]);
    const gets: string[] = [];
    const get = h.store.get.bind(h.store);
    h.store.get = async (key: string) => (gets.push(key), get(key));
    await h.flush([change("UPDATE", "2", { id: 2, big, v: "b" }), change("DELETE", "13", null), change("UPDATE", "21", { id: 21, big, v: "b" })]);
    expect(gets.filter((k) => k.endsWith(".avro") && !k.includes("/snap-"))).toEqual([]); // no manifest read
    // entries indexed before partitions were kept: the writer reads the manifests instead
    for (const loc of h.index.map.values()) delete loc.partition;
    gets.length = 0;
    await h.flush([change("UPDATE", "3", { id: 3, big, v: "c" }), change("DELETE", "22", null)]);
    expect(gets.filter((k) => k.endsWith(".avro") && !k.includes("/snap-")).length).toBeGreaterThan(0);
    const rows = byId(await readTable(h.store, h.mirror!));
    expect(Object.keys(rows).sort()).toEqual(["1", "11", "12", "14", "2", "21", "23", "24", "3", "4"]);
    expect([rows["2"]!.v, rows["21"]!.v, rows["3"]!.v]).toEqual(["b", "b", "c"]);
  });

  it("commits only the changelog when the mirror has nothing to change", async () => {
    const h = harness();
    const r = await h.flush([change("DELETE", "42", null)]);
    expect(r.mirror).toBeNull();
    expect(r.changelog!.snapshot.summary["added-records"]).toBe("1");
  });
});
