/**
 * Commits other engines make to CDC mirror tables (docs/external-writers.md). A mirror's rows are the
 * source's rows, addressed through the primary-key index by (data file, position). So a commit through
 * the REST catalog to a table whose rows the index tracks may:
 *   - change metadata only (properties, schema evolution, snapshot expiry, refs to the current snapshot);
 *   - add position deletes: the index forgets the deleted positions in the same transaction, so a later
 *     CDC UPDATE of such a row writes the new version without a second delete of the old position;
 * and is refused (403) when it would leave the index pointing at the wrong rows or rows it cannot key:
 * appended data files (rows with no source key: a CDC UPDATE of that key would add a duplicate),
 * removed or rewritten data files (copy-on-write DELETE/UPDATE, compaction by another engine),
 * equality deletes, deletion vectors, or moving the main branch anywhere but forward.
 * DoLake's own compaction and flushes update the index themselves and do not come through here.
 */
import { keyOf } from "../catalog/metadata-files.js";
import type { CatalogDeps } from "../catalog/deps.js";
import type { CommitGuard } from "../catalog/commit-guard.js";
import { CatalogError } from "../catalog/errors.js";
import type { TableIdent } from "../catalog/names.js";
import { readManifest } from "../iceberg/manifest.js";
import { readManifestList } from "../iceberg/manifest-list.js";
import type { TableMetadata } from "../iceberg/metadata/types.js";
import { currentSnapshotId } from "../iceberg/table-commit.js";
import { readPositionDeletes, type DeletedPosition } from "../iceberg/position-deletes.js";
import { SqlPrimaryKeyIndex } from "./pk-index.js";

/** 403 ForbiddenException: this commit would detach a mirror table from its source's keys. */
function refuse(ident: TableIdent, why: string): CatalogError {
  const name = [...ident.namespace, ident.name].join(".");
  return new CatalogError("forbidden", `Table ${name} is a CDC mirror of its source: ${why}. Write to it through CDC (or to another table); DELETE with merge-on-read position deletes is accepted.`);
}

async function read(deps: CatalogDeps, location: string): Promise<Uint8Array> {
  const obj = await deps.bucket.get(keyOf(deps, location));
  if (!obj) throw new CatalogError("bad-request", `Commit references a missing file: ${location}`);
  return new Uint8Array(await obj.arrayBuffer());
}

/** The commit guard of a DoLake object: mirror tables are those whose rows its index tracks. */
export function mirrorCommitGuard(sql: SqlStorage, deps: () => CatalogDeps): CommitGuard {
  return async (ident, base, next) => {
    if (!base) return undefined;
    const index = new SqlPrimaryKeyIndex(sql, `${ident.namespace.join(".")}.${ident.name}`);
    if (!index.tracksRows()) return undefined;
    const before = currentSnapshotId(base);
    const after = currentSnapshotId(next);
    if (before === after) return undefined;
    const known = new Set(base.snapshots.map((s) => s["snapshot-id"]));
    // Walk from the new current snapshot back to the old one: each step must be a new snapshot.
    const added: TableMetadata["snapshots"] = [];
    for (let id: bigint | null = after; id !== before; ) {
      const snap = id === null ? undefined : next.snapshots.find((s) => s["snapshot-id"] === id);
      if (id === null || !snap || known.has(id)) throw refuse(ident, "the commit moves the main branch to a snapshot that does not follow the current one (rollback or replace)");
      added.unshift(snap);
      id = snap["parent-snapshot-id"] ?? null;
    }
    const d = deps();
    const forget: DeletedPosition[] = [];
    for (const snap of added) {
      const schema = next.schemas.find((s) => s["schema-id"] === (snap["schema-id"] ?? next["current-schema-id"])) ?? next.schemas[0]!;
      for (const mf of readManifestList(await read(d, snap["manifest-list"]))) {
        if (mf.addedSnapshotId !== snap["snapshot-id"]) continue; // carried over: nothing new in it
        const spec = next["partition-specs"].find((s) => s["spec-id"] === mf.partitionSpecId) ?? next["partition-specs"][0]!;
        for (const e of readManifest(await read(d, mf.manifestPath), spec, schema)) {
          if (e.snapshotId !== snap["snapshot-id"] || e.status === 0) continue;
          const f = e.dataFile;
          if (f.content === 0) throw refuse(ident, e.status === 1 ? "the commit appends data files (rows with no source key)" : "the commit removes or rewrites data files");
          if (e.status === 2) continue; // a delete file retired: the rows stay deleted
          if (f.content === 2) throw refuse(ident, "the commit adds equality deletes");
          if (f.fileFormat.toUpperCase() !== "PARQUET") throw refuse(ident, `the commit adds ${f.fileFormat} delete files`);
          const bytes = await read(d, f.filePath);
          forget.push(...(await readPositionDeletes(bytes)));
        }
      }
    }
    return forget.length ? () => index.forgetPositions(forget) : undefined;
  };
}
