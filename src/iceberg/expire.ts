/**
 * Snapshot expiry (Iceberg spec "Snapshot Retention Policy", Java's ExpireSnapshots with its table
 * properties `history.expire.max-snapshot-age-ms` and `history.expire.min-snapshots-to-keep`, and
 * per-ref overrides): a snapshot is kept when a ref points at it, when it is one of the last
 * min-snapshots-to-keep ancestors of a branch, or when it is younger than the max age; every other
 * snapshot is expired. Files reachable only from expired snapshots (manifest lists, manifests,
 * data and delete files) are what the caller deletes once the `remove-snapshots` commit landed.
 */
import { readManifest } from "./manifest.js";
import { readManifestList } from "./manifest-list.js";
import type { ManifestFile } from "./data-file.js";
import type { Schema, TableMetadata } from "./metadata/types.js";
import type { ObjectStore } from "./object-store.js";

/** A table's retention from its properties. */
export interface RetentionPolicy {
  maxSnapshotAgeMs: bigint;
  minSnapshotsToKeep: number;
}

/** Iceberg's defaults (Java TableProperties): 5 days, 1 snapshot. */
export const ICEBERG_RETENTION_DEFAULTS: RetentionPolicy = { maxSnapshotAgeMs: 432_000_000n, minSnapshotsToKeep: 1 };

/** Snapshots are expired by a flush only when at least this many are due (amortises the file walk). */
export const EXPIRE_BATCH = 10;

/** The retention policy of a table. */
export function retentionPolicy(properties: Record<string, string> | undefined): RetentionPolicy {
  const p = properties ?? {};
  const age = p["history.expire.max-snapshot-age-ms"];
  const keep = Number(p["history.expire.min-snapshots-to-keep"]);
  return {
    maxSnapshotAgeMs: age !== undefined && /^\d+$/.test(age) ? BigInt(age) : ICEBERG_RETENTION_DEFAULTS.maxSnapshotAgeMs,
    minSnapshotsToKeep: Number.isInteger(keep) && keep >= 1 ? keep : ICEBERG_RETENTION_DEFAULTS.minSnapshotsToKeep,
  };
}

/** Ids of the snapshots of `m` that the retention policy expires at `now`. */
export function snapshotsToExpire(m: TableMetadata, now: bigint, policy: RetentionPolicy = retentionPolicy(m.properties)): bigint[] {
  const byId = new Map(m.snapshots.map((s) => [s["snapshot-id"], s]));
  const keep = new Set<bigint>();
  for (const ref of Object.values(m.refs)) {
    keep.add(ref["snapshot-id"]);
    if (ref.type !== "branch") continue;
    const minKeep = ref["min-snapshots-to-keep"] ?? policy.minSnapshotsToKeep;
    const maxAge = ref["max-snapshot-age-ms"] ?? policy.maxSnapshotAgeMs;
    let s = byId.get(ref["snapshot-id"]);
    for (let n = 0; s; n++, s = s["parent-snapshot-id"] === undefined ? undefined : byId.get(s["parent-snapshot-id"])) {
      if (n < minKeep || s["timestamp-ms"] >= now - maxAge) keep.add(s["snapshot-id"]);
    }
  }
  // Snapshots on no branch's ancestry are kept by age alone.
  for (const s of m.snapshots) if (s["timestamp-ms"] >= now - policy.maxSnapshotAgeMs) keep.add(s["snapshot-id"]);
  return m.snapshots.map((s) => s["snapshot-id"]).filter((id) => !keep.has(id));
}

/**
 * Locations reachable from the expired snapshots and from none of the kept ones (whose manifests
 * are `keptManifests` plus those of the kept snapshots' lists): manifest lists, manifests, files.
 */
export async function unreachableFiles(m: TableMetadata, expired: readonly bigint[], extraKeptManifests: readonly ManifestFile[], store: ObjectStore, keyFor: (l: string) => string): Promise<string[]> {
  const gone = new Set(expired);
  const lists = async (keptSide: boolean) => {
    const out = new Map<string, ManifestFile>();
    for (const s of m.snapshots) {
      if (gone.has(s["snapshot-id"]) === keptSide) continue;
      const bytes = await store.get(keyFor(s["manifest-list"]));
      if (!bytes) throw new Error(`manifest list of snapshot ${s["snapshot-id"]} is missing: ${s["manifest-list"]}`);
      for (const mf of readManifestList(bytes)) out.set(mf.manifestPath, mf);
    }
    return out;
  };
  const kept = await lists(true);
  for (const mf of extraKeptManifests) kept.set(mf.manifestPath, mf);
  const dropped = [...(await lists(false)).values()].filter((mf) => !kept.has(mf.manifestPath));
  const out = m.snapshots.filter((s) => gone.has(s["snapshot-id"])).map((s) => s["manifest-list"]);
  if (dropped.length === 0) return out;
  const schema = m.schemas.find((s) => s["schema-id"] === m["current-schema-id"])!;
  const filesOf = async (mf: ManifestFile, s: Schema) => {
    const spec = m["partition-specs"].find((p) => p["spec-id"] === mf.partitionSpecId)!;
    const bytes = await store.get(keyFor(mf.manifestPath));
    if (!bytes) throw new Error(`manifest ${mf.manifestPath} is missing`);
    return readManifest(bytes, spec, s).map((e) => e.dataFile.filePath);
  };
  const live = new Set<string>();
  for (const mf of kept.values()) for (const f of await filesOf(mf, schema)) live.add(f);
  const candidates = new Set<string>();
  for (const mf of dropped) {
    out.push(mf.manifestPath);
    for (const f of await filesOf(mf, schema)) if (!live.has(f)) candidates.add(f);
  }
  return [...out, ...candidates];
}
