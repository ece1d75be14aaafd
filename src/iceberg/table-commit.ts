/**
 * One snapshot for one table (Iceberg spec "Snapshots", "Manifest Lists", "Sequence Numbers";
 * the append checklist is shared/iceberg/WRITER-FACTS §11): given files already written, writes
 * the new data and delete manifests and the manifest list (carrying over the manifests of the
 * parent snapshot, merged per the table's manifest-merge properties: manifest-merge.ts), and returns the REST requirements and updates plus the resulting metadata.
 * Writing metadata.json and swapping the pointer is the catalog's job.
 */
import type { ObjectStore } from "./object-store.js";
import { applyUpdates } from "./metadata/apply.js";
import type { Schema, Snapshot, SnapshotSummary, TableMetadata, TableRequirement, TableUpdate } from "./metadata/types.js";
import { bindSpec } from "./avro-schema.js";
import { EntryStatus, type DataFile, type ManifestEntry, type ManifestFile } from "./data-file.js";
import { writeManifest } from "./manifest.js";
import { EXPIRE_BATCH, snapshotsToExpire, unreachableFiles } from "./expire.js";
import { finishManifests, mergePolicy, type NewManifest } from "./manifest-merge.js";
import { readManifestList, summarizeManifest, writeManifestList } from "./manifest-list.js";

/** A table's commit as the catalog receives it. */
export interface TableCommit {
  /** True when this commit creates the table (requirement assert-create). */
  created: boolean;
  requirements: TableRequirement[];
  updates: TableUpdate[];
  /** The metadata after applying `updates` (what the next metadata.json holds). */
  metadata: TableMetadata;
  snapshot: Snapshot;
  /** Locations only the snapshots this commit expires reach: delete them once it has landed. */
  expiredFiles: string[];
}

/** What commitSnapshot needs. */
export interface SnapshotInput {
  /** Current metadata, or the fresh metadata of a table being created. */
  base: TableMetadata;
  /** Updates that create the table (empty for an existing table). */
  createUpdates: TableUpdate[];
  /** A new schema to add and make current before the snapshot, if the schema evolved. */
  evolvedSchema?: { schema: Schema; lastColumnId: number };
  dataFiles: DataFile[];
  deleteFiles: DataFile[];
  store: ObjectStore;
  keyFor: (location: string) => string;
  now: bigint;
  snapshotId: bigint;
  uuid: () => string;
  /** Extra summary properties (strings). */
  summary?: Record<string, string>;
  /** Paths of files written, appended to as manifests and the list are written. */
  written: string[];
  /** A rewrite (operation "replace", compaction.ts): files it removes and the parent manifests listing them. */
  replace?: SnapshotRewrite;
}

/** What a replace snapshot removes: data and delete files, and the parent manifests that list them (rewritten). */
export interface SnapshotRewrite {
  removedData: DataFile[];
  removedDeletes: DataFile[];
  /** Parent manifests holding a removed file, with their entries (read by the planner). */
  manifests: Array<{ file: ManifestFile; entries: ManifestEntry[] }>;
}

/** The current snapshot id of metadata, or null (Java's -1 included). */
export function currentSnapshotId(m: TableMetadata): bigint | null {
  const id = m.refs.main?.["snapshot-id"] ?? m["current-snapshot-id"];
  return id === undefined || id === -1n ? null : id;
}

/** Builds, writes and describes one snapshot. */
export async function commitSnapshot(input: SnapshotInput): Promise<TableCommit> {
  const { store, keyFor, now, snapshotId } = input;
  const schemaUpdates: TableUpdate[] = input.evolvedSchema
    ? [{ action: "add-schema", schema: input.evolvedSchema.schema, "last-column-id": input.evolvedSchema.lastColumnId }, { action: "set-current-schema", "schema-id": -1 }]
    : [];
  const staged = schemaUpdates.length ? applyUpdates(input.base, schemaUpdates, now) : input.base;
  const schema = staged.schemas.find((s) => s["schema-id"] === staged["current-schema-id"])!;
  const spec = staged["partition-specs"].find((s) => s["spec-id"] === staged["default-spec-id"])!;
  const bound = bindSpec(spec, schema);
  const parentId = currentSnapshotId(input.base);
  const parent = parentId === null ? undefined : input.base.snapshots.find((s) => s["snapshot-id"] === parentId);
  const seq = input.base["last-sequence-number"] + 1n;
  const commitUuid = input.uuid();
  const metaDir = `${staged.location}/metadata`;

  const fresh: NewManifest[] = [];
  const groups = [
    { content: "data" as const, files: input.dataFiles },
    { content: "deletes" as const, files: input.deleteFiles },
  ];
  let manifestNo = 0;
  const newPath = () => `${metaDir}/${commitUuid}-m${manifestNo++}.avro`;
  for (const g of groups) {
    if (g.files.length === 0) continue;
    const entries: ManifestEntry[] = g.files.map((dataFile) => ({ status: EntryStatus.ADDED, snapshotId, sequenceNumber: null, fileSequenceNumber: null, dataFile }));
    const bytes = writeManifest({ schema, spec, content: g.content, entries });
    const place = { manifestPath: newPath(), manifestLength: BigInt(bytes.length), partitionSpecId: spec["spec-id"], content: g.content === "data" ? (0 as const) : (1 as const), snapshotId, sequenceNumber: seq };
    fresh.push({ file: summarizeManifest(place, entries, bound), bytes, entries });
  }
  let parentManifests: ManifestFile[] = [];
  if (parent) {
    const prev = await store.get(keyFor(parent["manifest-list"]));
    if (!prev) throw new Error(`manifest list of snapshot ${parentId} is missing: ${parent["manifest-list"]}`);
    parentManifests = readManifestList(prev);
  }
  if (input.replace) {
    const rewritten = rewriteManifests(input.replace, { schema, specs: staged["partition-specs"], snapshotId, seq, newPath });
    fresh.push(...rewritten);
    const gone = new Set(input.replace.manifests.map((m) => m.file.manifestPath));
    parentManifests = parentManifests.filter((m) => !gone.has(m.manifestPath));
  }
  const merged = await finishManifests(
    { schema, specs: staged["partition-specs"], snapshotId, sequenceNumber: seq, store, keyFor, newPath, written: input.written, policy: mergePolicy(staged.properties) },
    fresh,
    parentManifests,
  );
  const manifests = merged.manifests;
  const listPath = `${metaDir}/snap-${snapshotId}-1-${commitUuid}.avro`;
  await store.put(keyFor(listPath), writeManifestList({ snapshotId, parentSnapshotId: parentId, sequenceNumber: seq, manifests }));
  input.written.push(listPath);

  const snapshot: Snapshot = {
    "snapshot-id": snapshotId,
    "sequence-number": seq,
    "timestamp-ms": now,
    "manifest-list": listPath,
    summary: input.replace
      ? replaceSummary(parent?.summary, input.dataFiles, input.replace, merged.created, merged.kept, { ...(merged.replaced ? { "manifests-replaced": String(merged.replaced) } : {}), ...input.summary })
      : snapshotSummary(parent?.summary, input.dataFiles, input.deleteFiles, merged.created, merged.kept, { ...(merged.replaced ? { "manifests-replaced": String(merged.replaced) } : {}), ...input.summary }),
    "schema-id": schema["schema-id"],
  };
  if (parentId !== null) snapshot["parent-snapshot-id"] = parentId;
  const snapshotUpdates: TableUpdate[] = [
    { action: "add-snapshot", snapshot },
    { action: "set-snapshot-ref", "ref-name": "main", type: "branch", "snapshot-id": snapshotId },
  ];
  let metadata = applyUpdates(staged, snapshotUpdates, now);
  // Expiry rides on the commit (remove-snapshots), in batches so the file walk is amortised.
  const expired = snapshotsToExpire(metadata, now);
  let expiredFiles: string[] = [];
  if (expired.length >= EXPIRE_BATCH) {
    expiredFiles = await unreachableFiles(metadata, expired, [], store, keyFor);
    const remove: TableUpdate = { action: "remove-snapshots", "snapshot-ids": expired };
    snapshotUpdates.push(remove);
    metadata = applyUpdates(metadata, [remove], now);
  }
  const created = input.createUpdates.length > 0;
  const requirements: TableRequirement[] = created
    ? [{ type: "assert-create" }]
    : [
        { type: "assert-table-uuid", uuid: input.base["table-uuid"] },
        { type: "assert-ref-snapshot-id", ref: "main", "snapshot-id": parentId },
        ...(schemaUpdates.length ? [{ type: "assert-current-schema-id" as const, "current-schema-id": input.base["current-schema-id"] }, { type: "assert-last-assigned-field-id" as const, "last-assigned-field-id": input.base["last-column-id"] }] : []),
      ];
  return { created, requirements, updates: [...input.createUpdates, ...schemaUpdates, ...snapshotUpdates], metadata, snapshot, expiredFiles };
}

/**
 * The parent manifests that list removed files, written anew: removed entries DELETED by this
 * snapshot, the others EXISTING with their sequence numbers explicit (spec "Sequence Number
 * Inheritance"), DELETED entries of earlier snapshots dropped (Java's ManifestFilterManager).
 */
function rewriteManifests(r: SnapshotRewrite, ctx: { schema: Schema; specs: TableMetadata["partition-specs"]; snapshotId: bigint; seq: bigint; newPath: () => string }): NewManifest[] {
  const removed = new Set([...r.removedData, ...r.removedDeletes].map((f) => f.filePath));
  const out: NewManifest[] = [];
  for (const { file, entries: old } of r.manifests) {
    const spec = ctx.specs.find((s) => s["spec-id"] === file.partitionSpecId);
    if (!spec) throw new Error(`partition spec ${file.partitionSpecId} of ${file.manifestPath} is not in the table metadata`);
    const entries: ManifestEntry[] = [];
    for (const e of old) {
      if (e.status === EntryStatus.DELETED) continue;
      const sequenceNumber = e.sequenceNumber ?? file.sequenceNumber;
      const fileSequenceNumber = e.fileSequenceNumber ?? file.sequenceNumber;
      const gone = removed.has(e.dataFile.filePath);
      entries.push({ status: gone ? EntryStatus.DELETED : EntryStatus.EXISTING, snapshotId: gone ? ctx.snapshotId : (e.snapshotId ?? file.addedSnapshotId), sequenceNumber, fileSequenceNumber, dataFile: e.dataFile });
    }
    const content = file.content === 0 ? "data" : "deletes";
    const bytes = writeManifest({ schema: ctx.schema, spec, content, entries });
    const place = { manifestPath: ctx.newPath(), manifestLength: BigInt(bytes.length), partitionSpecId: file.partitionSpecId, content: file.content, snapshotId: ctx.snapshotId, sequenceNumber: ctx.seq };
    out.push({ file: summarizeManifest(place, entries, bindSpec(spec, ctx.schema)), bytes, entries });
  }
  return out;
}

/** Summary of a replace snapshot (Java's keys: added/deleted data files, removed delete files, running totals). */
export function replaceSummary(parent: SnapshotSummary | undefined, added: DataFile[], r: SnapshotRewrite, manifestsCreated: number, manifestsKept: number, extra: Record<string, string> = {}): SnapshotSummary {
  const sum = (fs: DataFile[], f: (d: DataFile) => bigint = (d) => d.recordCount) => fs.reduce((n, d) => n + f(d), 0n);
  const size = (d: DataFile) => d.fileSizeInBytes;
  const delta: [string, bigint][] = [
    ["total-records", sum(added) - sum(r.removedData)],
    ["total-files-size", sum(added, size) - sum(r.removedData, size) - sum(r.removedDeletes, size)],
    ["total-data-files", BigInt(added.length - r.removedData.length)],
    ["total-delete-files", BigInt(-r.removedDeletes.length)],
    ["total-position-deletes", -sum(r.removedDeletes)],
    ["total-equality-deletes", 0n],
  ];
  const out: SnapshotSummary = {
    operation: "replace",
    "added-data-files": String(added.length),
    "deleted-data-files": String(r.removedData.length),
    "added-records": String(sum(added)),
    "deleted-records": String(sum(r.removedData)),
    "added-files-size": String(sum(added, size)),
    "removed-files-size": String(sum(r.removedData, size) + sum(r.removedDeletes, size)),
  };
  if (r.removedDeletes.length) {
    out["removed-delete-files"] = String(r.removedDeletes.length);
    out["removed-position-delete-files"] = String(r.removedDeletes.length);
    out["removed-position-deletes"] = String(sum(r.removedDeletes));
  }
  const partitions = new Set([...added, ...r.removedData, ...r.removedDeletes].map((d) => JSON.stringify(d.partition, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))));
  out["changed-partition-count"] = String(partitions.size);
  for (const [k, v] of delta) {
    const prev = parent ? parent[k] : "0";
    if (prev !== undefined && /^\d+$/.test(prev)) out[k] = String(BigInt(prev) + v);
  }
  out["manifests-created"] = String(manifestsCreated);
  out["manifests-kept"] = String(manifestsKept);
  return { ...out, ...extra, operation: "replace" };
}

/** Snapshot summary with Java's keys (spec "Snapshots": summary; running totals from the parent). */
export function snapshotSummary(parent: SnapshotSummary | undefined, data: DataFile[], deletes: DataFile[], manifestsCreated: number, manifestsKept: number, extra: Record<string, string> = {}): SnapshotSummary {
  const sum = (fs: DataFile[], f: (d: DataFile) => bigint) => fs.reduce((n, d) => n + f(d), 0n);
  const added = {
    "added-data-files": BigInt(data.length),
    "added-records": sum(data, (d) => d.recordCount),
    "added-files-size": sum(data, (d) => d.fileSizeInBytes) + sum(deletes, (d) => d.fileSizeInBytes),
    "added-delete-files": BigInt(deletes.length),
    "added-position-delete-files": BigInt(deletes.length),
    "added-position-deletes": sum(deletes, (d) => d.recordCount),
  };
  const totals: [string, bigint][] = [
    ["total-records", added["added-records"]],
    ["total-files-size", added["added-files-size"]],
    ["total-data-files", added["added-data-files"]],
    ["total-delete-files", added["added-delete-files"]],
    ["total-position-deletes", added["added-position-deletes"]],
    ["total-equality-deletes", 0n],
  ];
  const operation = deletes.length === 0 ? "append" : data.length === 0 ? "delete" : "overwrite";
  const out: SnapshotSummary = { operation };
  for (const [k, v] of Object.entries(added)) if (v > 0n || k === "added-records" || k === "added-data-files") out[k] = String(v);
  const partitions = new Set([...data, ...deletes].map((d) => JSON.stringify(d.partition, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))));
  out["changed-partition-count"] = String(partitions.size);
  for (const [k, v] of totals) {
    const prev = parent ? parent[k] : "0";
    // Java drops a running total the parent lacks (e.g. written by an engine that omits it).
    if (prev !== undefined && /^\d+$/.test(prev)) out[k] = String(BigInt(prev) + v);
  }
  out["manifests-created"] = String(manifestsCreated);
  out["manifests-kept"] = String(manifestsKept);
  return { ...out, ...extra, operation };
}
