/**
 * The CDC table writer: what the DoLake Durable Object calls during a flush. For one source table
 * it turns the flush's ordered changes into one snapshot of the mirror table (appended row
 * versions plus position deletes of replaced ones, cdc-plan.ts) and one snapshot of its changelog
 * table (every change, changelog.ts). It writes data, delete, manifest and manifest-list files
 * through the ObjectStore and returns, per table, the REST requirements and updates and the
 * resulting metadata; writing metadata.json and swapping the pointer is the catalog's job, and
 * the primary-key index changes are applied by the caller in the same transaction.
 * Validation (schema evolution, value conversion) happens before the first byte is written.
 */
import type { JsonObject } from "../util/json.js";
import { NO_PACE, type Pacer } from "../util/pace.js";
import type { ParquetCompression } from "../parquet/writer.js";
import { bindSpec } from "./avro-schema.js";
import { planMirror, CdcInputError, type CdcChange, type RowLocation } from "./cdc-plan.js";
import { CHANGELOG_SCHEMA, changelogColumnsPaced, changelogSchemaUpgrade, changelogSummary, mirrorSummary } from "./changelog.js";
import { writeDataFiles, writeDeleteFiles, type FileSink } from "./file-writer.js";
import { readManifest } from "./manifest.js";
import { readManifestList } from "./manifest-list.js";
import { currentSchema } from "./metadata/apply.js";
import { newTableMetadata } from "./metadata/new-table.js";
import type { PartitionSpec, Schema, TableMetadata, TableUpdate } from "./metadata/types.js";
import { keyForLocation, type ObjectStore } from "./object-store.js";
import type { PartitionTuple } from "./partition.js";
import { jsonRowsToColumnsPaced, schemaEvolver, type EvolvedSchema } from "./schema-infer.js";
import { commitSnapshot, currentSnapshotId, type TableCommit } from "./table-commit.js";

export type { CdcChange, RowLocation } from "./cdc-plan.js";
export type { TableCommit } from "./table-commit.js";

/** The primary-key index (SQLite in production): row id -> location of its current version. */
export interface PrimaryKeyIndex {
  /** Locations of the row ids the index knows; unknown ids are absent from the map. */
  lookup(rowIds: string[]): Promise<Map<string, RowLocation>> | Map<string, RowLocation>;
}

/** A partition field by column name, applied when a table is created. */
export interface PartitionFieldOption {
  column: string;
  /** identity, year, month, day, hour, bucket[N], truncate[W], void */
  transform: string;
  /** Defaults to Java's naming: column, column_day, column_bucket, column_trunc, ... */
  name?: string;
}

/** Writer options for one source table. */
export interface CdcWriterOptions {
  /** Mirror table location, e.g. `s3://<bucket>/<warehouse>/<namespace>/<table>`. */
  location: string;
  /** Changelog table location; default: the mirror's with `__changelog` appended. */
  changelogLocation?: string;
  /** Parquet compression (default snappy). */
  compression?: ParquetCompression;
  /** Target (estimated, uncompressed) data file size; default 64 MiB. */
  targetFileSizeBytes?: number;
  /** Rows per Parquet row group; default 100_000. */
  rowGroupRows?: number;
  /** Mirror partitioning, used when the mirror is created. */
  partitionBy?: PartitionFieldOption[];
  /** Changelog partitioning, used when the changelog is created. */
  changelogPartitionBy?: PartitionFieldOption[];
  /** Infer timestamptz for ISO-8601 instants with a zone (schema-infer.ts). */
  detectTimestamps?: boolean;
  /** Table properties set at creation (over DOLAKE_TABLE_DEFAULTS). */
  properties?: Record<string, string>;
  /** Changelog table properties set at creation (over DOLAKE_CHANGELOG_DEFAULTS): its retention is its own. */
  changelogProperties?: Record<string, string>;
  /** Object key of a file location; default keyForLocation. */
  keyFor?: (location: string) => string;
}

/** Everything one flush of one source table needs. */
export interface CdcFlushInput {
  /** Current mirror metadata, or undefined to create the table. */
  mirror: TableMetadata | undefined;
  /** Current changelog metadata, or undefined to create it. */
  changelog: TableMetadata | undefined;
  /** The flush's changes, in order. */
  changes: readonly CdcChange[];
  store: ObjectStore;
  index: PrimaryKeyIndex;
  options: CdcWriterOptions;
  /** Epoch milliseconds (commit time of the flush). */
  clock: () => bigint;
  /** A new positive 63-bit snapshot id. */
  newSnapshotId: () => bigint;
  /** A new UUID (file names); default crypto.randomUUID. */
  newUuid?: () => string;
  /** Lets other events in between phases and column chunks (a Durable Object's acks); default: none. */
  pace?: Pacer;
}

/** Work units a phase spends per change (about a change's bytes), for the pacer. */
const PHASE_UNITS_PER_CHANGE = 256;
/** Rows converted (mirror values, changelog JSON text) between two chances to yield. */
const SLICE_ROWS = 2_000;

/** Changes the caller applies to the primary-key index when the commit succeeds. */
export interface IndexChanges {
  upserts: Map<string, RowLocation>;
  deletes: string[];
}

/** What one flush produced. A table with nothing to commit has `null`. */
export interface CdcFlushResult {
  mirror: TableCommit | null;
  changelog: TableCommit | null;
  /** Every file written (locations), to delete if the commit fails. */
  filesWritten: string[];
  index: IndexChanges;
}

const TRANSFORM_SUFFIX: Record<string, string> = { year: "year", month: "month", day: "day", hour: "hour", bucket: "bucket", truncate: "trunc", void: "null" };

/** A partition spec (spec id 0, ids from 1000) from column-name options over a schema. */
export function partitionSpecFor(schema: Schema, fields: PartitionFieldOption[] = []): PartitionSpec {
  return {
    "spec-id": 0,
    fields: fields.map((f, i) => {
      const col = schema.fields.find((c) => c.name === f.column);
      if (!col) throw new CdcInputError(`partition column ${f.column} is not in the table's columns`);
      const kind = f.transform.replace(/\[.*$/, "");
      const name = f.name ?? (kind === "identity" ? f.column : `${f.column}_${TRANSFORM_SUFFIX[kind] ?? kind}`);
      return { "source-id": col.id, "field-id": 1000 + i, name, transform: f.transform };
    }),
  };
}

/** The REST updates that create a table with the given fresh metadata (as Java's create transaction). */
export function createTableUpdates(m: TableMetadata): TableUpdate[] {
  return [
    { action: "assign-uuid", uuid: m["table-uuid"] },
    { action: "upgrade-format-version", "format-version": m["format-version"] },
    { action: "add-schema", schema: m.schemas[0]!, "last-column-id": m["last-column-id"] },
    { action: "set-current-schema", "schema-id": -1 },
    { action: "add-spec", spec: m["partition-specs"][0]! },
    { action: "set-default-spec", "spec-id": -1 },
    { action: "add-sort-order", "sort-order": m["sort-orders"][0]! },
    { action: "set-default-sort-order", "sort-order-id": -1 },
    { action: "set-location", location: m.location },
    { action: "set-properties", updates: m.properties },
  ];
}

/**
 * A mirror's rows are addressed by position (the primary-key index): engines that DELETE from it must
 * write position deletes, not rewrite files (docs/external-writers.md; rewrites are refused).
 */
const MIRROR_PROPERTIES: Record<string, string> = {
  "write.delete.mode": "merge-on-read",
  "write.update.mode": "merge-on-read",
  "write.merge.mode": "merge-on-read",
};

/**
 * Properties DoLake sets on the mirror tables it creates (docs/maintenance.md): every flush adds up
 * to two manifests, so they are merged once ten pile up per content (Iceberg's default is 100);
 * snapshots older than an hour are expired (at least ten kept), and only ten previous metadata
 * files are kept, the older ones deleted.
 */
export const DOLAKE_TABLE_DEFAULTS: Record<string, string> = {
  "commit.manifest-merge.enabled": "true",
  "commit.manifest.min-count-to-merge": "10",
  "history.expire.max-snapshot-age-ms": "3600000",
  "history.expire.min-snapshots-to-keep": "10",
  "write.metadata.previous-versions-max": "10",
  "write.metadata.delete-after-commit.enabled": "true",
};

/**
 * Changelog tables get the mirror's retention: subscribers resume from the rows of the current
 * snapshot (by `log_position` statistics) and start from a timestamp by the files' `acked_at`
 * statistics, so no snapshot history is needed; a day of it made every flush rewrite ~1 MB of
 * metadata.json (bench/growth/RESULTS.md).
 */
export const DOLAKE_CHANGELOG_DEFAULTS: Record<string, string> = { ...DOLAKE_TABLE_DEFAULTS };

function defaultProperties(options: CdcWriterOptions, changelog = false): Record<string, string> {
  const codec = options.compression ?? "snappy";
  const base = { "write.format.default": "parquet", "write.parquet.compression-codec": codec === "none" ? "uncompressed" : codec };
  return changelog ? { ...base, ...DOLAKE_CHANGELOG_DEFAULTS, ...options.changelogProperties } : { ...base, ...DOLAKE_TABLE_DEFAULTS, ...options.properties };
}

/** Writes one flush of one source table; see the module comment. */
export async function writeCdcFlush(input: CdcFlushInput): Promise<CdcFlushResult> {
  const { options, changes } = input;
  const keyFor = options.keyFor ?? keyForLocation;
  const uuid = input.newUuid ?? (() => crypto.randomUUID());
  const now = input.clock();
  const written: string[] = [];
  const result: CdcFlushResult = { mirror: null, changelog: null, filesWritten: written, index: { upserts: new Map(), deletes: [] } };
  if (changes.length === 0) return result;
  const parquet = { compression: options.compression, rowGroupRows: options.rowGroupRows };
  const pace = input.pace ?? NO_PACE;
  const phase = () => pace.spend(changes.length * PHASE_UNITS_PER_CHANGE);
  const sinkFor = (location: string): FileSink => ({ store: input.store, keyFor, location: location.replace(/\/+$/, ""), uuid, parquet, targetFileSizeBytes: options.targetFileSizeBytes ?? 64 << 20, written, pace });

  // 1. Plan and validate the mirror (no I/O but the index lookup).
  const known = await lookupPaced(input.index, [...new Set(changes.map((c) => c.rowId))], pace);
  const plan = planMirror(changes, known);
  await phase();
  const images: JsonObject[] = plan.rows.map((r) => r.image);
  let base = input.mirror;
  let createUpdates: TableUpdate[] = [];
  let evolved: { schema: Schema; lastColumnId: number } | undefined;
  if (!base && images.length > 0) {
    const inferred = await evolvePaced(undefined, 0, 0, images, options.detectTimestamps, pace);
    base = newTableMetadata({ schema: inferred.schema, partitionSpec: partitionSpecFor(inferred.schema, options.partitionBy), location: options.location, properties: { ...MIRROR_PROPERTIES, ...defaultProperties(options) }, now });
    createUpdates = createTableUpdates(base);
  } else if (base) {
    const maxId = Math.max(...base.schemas.map((s) => s["schema-id"]));
    const e = await evolvePaced(currentSchema(base), base["last-column-id"], maxId + 1, images, options.detectTimestamps, pace);
    if (e.changed) evolved = { schema: e.schema, lastColumnId: e.lastColumnId };
  }
  const schema = evolved?.schema ?? (base ? currentSchema(base) : undefined);
  const rows = schema ? await jsonRowsToColumnsPaced(schema, images, pace, SLICE_ROWS, PHASE_UNITS_PER_CHANGE) : undefined;

  // 2. The mirror's files and snapshot.
  if (base && schema && rows && (rows.length > 0 || plan.deletes.length > 0)) {
    const spec = base["partition-specs"].find((s) => s["spec-id"] === base!["default-spec-id"])!;
    const bound = bindSpec(spec, schema);
    const sink = sinkFor(base.location);
    const data = await writeDataFiles(sink, schema.fields, bound, rows);
    for (const d of data) {
      d.rows.forEach((rowIdx, pos) => result.index.upserts.set(plan.rows[rowIdx]!.rowId, { filePath: d.file.filePath, pos: BigInt(pos), partition: d.file.partition, specId: spec["spec-id"] }));
    }
    const partitionOf = bound.length === 0 ? () => [] : await partitionsOfDeleted(plan.deletes.map((d) => d.location), () => partitionLookup(input.store, keyFor, base!, schema));
    const deletes = await writeDeleteFiles(sink, bound, plan.deletes.map((d) => d.location), partitionOf);
    result.index.deletes = plan.indexDeletes;
    result.mirror = await commitSnapshot({
      base, createUpdates, evolvedSchema: evolved, dataFiles: data.map((d) => d.file), deleteFiles: deletes,
      store: input.store, keyFor, now, snapshotId: input.newSnapshotId(), uuid, written,
      summary: mirrorSummary(changes),
    });
  }

  // 3. The changelog: every change, appended.
  let logBase = input.changelog;
  let logCreate: TableUpdate[] = [];
  if (!logBase) {
    const location = options.changelogLocation ?? `${options.location.replace(/\/+$/, "")}__changelog`;
    logBase = newTableMetadata({ schema: CHANGELOG_SCHEMA, partitionSpec: partitionSpecFor(CHANGELOG_SCHEMA, options.changelogPartitionBy), location, properties: defaultProperties(options, true), now });
    logCreate = createTableUpdates(logBase);
  }
  const logUpgrade = changelogSchemaUpgrade(currentSchema(logBase), logBase["last-column-id"], Math.max(...logBase.schemas.map((s) => s["schema-id"])) + 1);
  const logSchema = logUpgrade?.schema ?? currentSchema(logBase);
  const logSpec = logBase["partition-specs"].find((s) => s["spec-id"] === logBase!["default-spec-id"])!;
  await phase();
  const logColumns = await changelogColumnsPaced(changes, now, pace, SLICE_ROWS, PHASE_UNITS_PER_CHANGE);
  const logFiles = await writeDataFiles(sinkFor(logBase.location), logSchema.fields, bindSpec(logSpec, logSchema), logColumns);
  result.changelog = await commitSnapshot({
    base: logBase, createUpdates: logCreate, evolvedSchema: logUpgrade, dataFiles: logFiles.map((d) => d.file), deleteFiles: [],
    store: input.store, keyFor, now, snapshotId: input.newSnapshotId(), uuid, written,
    summary: changelogSummary(changes),
  });
  return result;
}

/** The index's locations of `rowIds`, looked up SLICE_ROWS at a time with a chance to yield between. */
async function lookupPaced(index: PrimaryKeyIndex, rowIds: string[], pace: Pacer): Promise<ReadonlyMap<string, RowLocation>> {
  if (rowIds.length <= SLICE_ROWS) return index.lookup(rowIds);
  const known = new Map<string, RowLocation>();
  for (let i = 0; i < rowIds.length; i += SLICE_ROWS) {
    const slice = rowIds.slice(i, i + SLICE_ROWS);
    for (const [id, loc] of await index.lookup(slice)) known.set(id, loc);
    await pace.spend(slice.length * PHASE_UNITS_PER_CHANGE);
  }
  return known;
}

/** evolveSchema over `images`, SLICE_ROWS rows at a time with a chance to yield between. */
async function evolvePaced(current: Schema | undefined, lastColumnId: number, nextSchemaId: number, images: readonly JsonObject[], detectTimestamps: boolean | undefined, pace: Pacer): Promise<EvolvedSchema> {
  const evolver = schemaEvolver(current, { detectTimestamps });
  for (let i = 0; i < images.length; i += SLICE_ROWS) {
    const end = Math.min(images.length, i + SLICE_ROWS);
    for (let r = i; r < end; r++) evolver.add(images[r]!);
    await pace.spend((end - i) * PHASE_UNITS_PER_CHANGE);
  }
  return evolver.finish(lastColumnId, nextSchemaId);
}

/**
 * The partition of each data file a delete targets, from the primary-key index; only index entries
 * written before the index kept partitions make it read the current snapshot's manifests.
 */
async function partitionsOfDeleted(locations: RowLocation[], fromManifests: () => Promise<(filePath: string) => PartitionTuple>): Promise<(filePath: string) => PartitionTuple> {
  const known = new Map<string, PartitionTuple>();
  let missing = false;
  for (const l of locations) {
    if (l.partition) known.set(l.filePath, l.partition);
    else missing = true;
  }
  const fallback = missing ? await fromManifests() : undefined;
  return (filePath) => known.get(filePath) ?? fallback!(filePath);
}

/** path -> partition tuple of the live data files of the current snapshot (for partitioned deletes). */
async function partitionLookup(store: ObjectStore, keyFor: (l: string) => string, m: TableMetadata, schema: Schema): Promise<(filePath: string) => PartitionTuple> {
  const map = new Map<string, PartitionTuple>();
  const id = currentSnapshotId(m);
  const snap = id === null ? undefined : m.snapshots.find((s) => s["snapshot-id"] === id);
  if (snap) {
    const list = await store.get(keyFor(snap["manifest-list"]));
    for (const mf of list ? readManifestList(list) : []) {
      if (mf.content !== 0) continue;
      const spec = m["partition-specs"].find((s) => s["spec-id"] === mf.partitionSpecId)!;
      const bytes = await store.get(keyFor(mf.manifestPath));
      for (const e of bytes ? readManifest(bytes, spec, schema) : []) if (e.status !== 2) map.set(e.dataFile.filePath, e.dataFile.partition);
    }
  }
  return (filePath) => {
    const t = map.get(filePath);
    if (!t) throw new Error(`data file ${filePath} (from the primary-key index) is not live in the table`);
    return t;
  };
}
