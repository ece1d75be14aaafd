// Test helper: reads a table snapshot written by the CDC writer back into rows, applying position
// deletes per the spec's scan rules (same partition, delete seq >= data seq). Parquet is decoded
// by hyparquet, so only the manifest layer here is ours.
import { parquetReadObjects } from "hyparquet";
import { readManifest } from "../../../src/iceberg/manifest.js";
import { readManifestList } from "../../../src/iceberg/manifest-list.js";
import type { TableMetadata } from "../../../src/iceberg/metadata/types.js";
import { keyForLocation, type ObjectStore } from "../../../src/iceberg/object-store.js";

/** Rows of a snapshot (default: current), deletes applied. */
export async function readTable(store: ObjectStore, m: TableMetadata, snapshotId?: bigint): Promise<Record<string, unknown>[]> {
  const id = snapshotId ?? m["current-snapshot-id"];
  const snap = m.snapshots.find((s) => s["snapshot-id"] === id);
  if (!snap) return [];
  const schema = m.schemas.find((s) => s["schema-id"] === m["current-schema-id"])!;
  const list = readManifestList((await store.get(keyForLocation(snap["manifest-list"])))!);
  const data: { path: string; seq: bigint }[] = [];
  const deleted = new Set<string>();
  const deletes: { path: string; seq: bigint }[] = [];
  for (const mf of list) {
    const spec = m["partition-specs"].find((s) => s["spec-id"] === mf.partitionSpecId)!;
    for (const e of readManifest((await store.get(keyForLocation(mf.manifestPath)))!, spec, schema)) {
      if (e.status === 2) continue;
      const seq = e.sequenceNumber ?? mf.sequenceNumber;
      (e.dataFile.content === 0 ? data : deletes).push({ path: e.dataFile.filePath, seq });
    }
  }
  const seqOf = new Map(data.map((d) => [d.path, d.seq]));
  for (const d of deletes) {
    for (const r of await readParquet(store, d.path)) {
      const target = seqOf.get(r.file_path as string);
      if (target !== undefined && target <= d.seq) deleted.add(`${r.file_path as string}#${r.pos as bigint}`);
    }
  }
  const out: Record<string, unknown>[] = [];
  // Project onto the current schema: columns added after a file was written read as null.
  const project = (r: Record<string, unknown>) => Object.fromEntries(schema.fields.map((f) => [f.name, r[f.name] ?? null]));
  for (const d of data) (await readParquet(store, d.path)).forEach((r, pos) => deleted.has(`${d.path}#${pos}`) || out.push(project(r)));
  return out;
}

/** Decodes one Parquet file of the store with hyparquet. */
export async function readParquet(store: ObjectStore, path: string): Promise<Record<string, unknown>[]> {
  const bytes = (await store.get(keyForLocation(path)))!;
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return (await parquetReadObjects({ file })) as Record<string, unknown>[];
}
