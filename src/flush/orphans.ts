/**
 * Orphan files: objects under a table's location that no metadata references — what a flush (or an
 * external writer) leaves behind when it dies between writing files and the pointer swap. Found by
 * walking every table's metadata: metadata files (current and metadata-log), every snapshot's
 * manifest list, its manifests, and their data/delete files, statistics files; anything else under
 * the table's location older than `olderThanMs` is deleted. The age guard protects writes still in
 * flight (ours and external engines'), as Iceberg's own remove-orphan-files does.
 */
import { loadTable } from "../catalog/commit.js";
import type { CatalogDeps } from "../catalog/deps.js";
import { keyOf } from "../catalog/metadata-files.js";
import { readAvroFile } from "../avro/container.js";
import { readManifestList } from "../iceberg/manifest-list.js";
import type { AvroValue } from "../avro/types.js";

/** What one cleanup did. */
export interface OrphanReport {
  tablesScanned: number;
  objectsScanned: number;
  referenced: number;
  /** Keys deleted (or that would be, in a dry run). */
  orphans: string[];
  dryRun: boolean;
}

async function readBytes(bucket: R2Bucket, key: string): Promise<Uint8Array> {
  const obj = await bucket.get(key);
  if (!obj) throw new Error(`referenced object ${key} is missing`);
  return new Uint8Array(await obj.arrayBuffer());
}

/** Keys referenced by the table's metadata (every snapshot, not only the current one). */
async function referencedKeys(deps: CatalogDeps, metadataLocation: string, metadata: import("../iceberg/metadata/types.js").TableMetadata): Promise<Set<string>> {
  const keys = new Set<string>();
  const add = (location: string) => keys.add(keyOf(deps, location));
  add(metadataLocation);
  for (const m of metadata["metadata-log"]) add(m["metadata-file"]);
  for (const s of metadata.statistics ?? []) add(s["statistics-path"]);
  for (const s of metadata["partition-statistics"] ?? []) add(s["statistics-path"]);
  const manifests = new Set<string>();
  for (const snapshot of metadata.snapshots) {
    add(snapshot["manifest-list"]);
    for (const mf of readManifestList(await readBytes(deps.bucket, keyOf(deps, snapshot["manifest-list"])))) manifests.add(mf.manifestPath);
  }
  for (const manifest of manifests) {
    add(manifest);
    for (const rec of readAvroFile(await readBytes(deps.bucket, keyOf(deps, manifest))).records) {
      const dataFile = (rec as Record<string, AvroValue>).data_file as Record<string, AvroValue>;
      add(dataFile.file_path as string);
    }
  }
  return keys;
}

/** Finds (and unless dryRun, deletes) orphan files under every table's location. */
export async function removeOrphanFiles(deps: CatalogDeps, olderThanMs: number, dryRun: boolean, now = Date.now()): Promise<OrphanReport> {
  const report: OrphanReport = { tablesScanned: 0, objectsScanned: 0, referenced: 0, orphans: [], dryRun };
  for (const { ident, location } of deps.store.tableLocations()) {
    const table = await loadTable(deps, ident);
    if (!table) continue;
    report.tablesScanned++;
    const referenced = await referencedKeys(deps, table.metadataLocation, table.metadata);
    report.referenced += referenced.size;
    const prefix = `${keyOf(deps, location).replace(/\/$/, "")}/`;
    let cursor: string | undefined;
    do {
      const page = await deps.bucket.list({ prefix, cursor });
      for (const obj of page.objects) {
        report.objectsScanned++;
        if (referenced.has(obj.key)) continue;
        if (now - obj.uploaded.getTime() < olderThanMs) continue;
        report.orphans.push(obj.key);
      }
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
  }
  if (!dryRun) {
    for (let i = 0; i < report.orphans.length; i += 1000) await deps.bucket.delete(report.orphans.slice(i, i + 1000));
  }
  return report;
}
