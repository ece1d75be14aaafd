/**
 * TableMetadata <-> metadata.json text (https://iceberg.apache.org/spec/#table-metadata-fields),
 * through the one BigInt-safe codec (src/util/json.ts). Every 64-bit field (snapshot ids,
 * sequence numbers, timestamps, row ids) is a `bigint` in memory whatever its size in the text.
 * Reading accepts v1 files (single `schema` / `partition-spec`) and fills the v2 lists from them.
 */
import { parseJson, stringifyJson, type JsonValue } from "../../util/json.js";
import { BadRequestError } from "./errors.js";
import type {
  MetadataLogEntry,
  PartitionSpec,
  PartitionStatisticsFile,
  Schema,
  Snapshot,
  SnapshotLogEntry,
  SnapshotRef,
  SortOrder,
  StatisticsFile,
  TableMetadata,
} from "./types.js";

type Obj = Record<string, unknown>;

/** Java's partition field ids start at 1000; 999 means "no partition field ever existed". */
export const PARTITION_DATA_ID_START = 1000;

function isObject(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A JSON integer (number, bigint or JsonNumber text) as bigint; throws BadRequestError otherwise. */
export function toLong(value: unknown, field: string): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  if (isObject(value) && typeof (value as { text?: unknown }).text === "string" && /^-?\d+$/.test((value as { text: string }).text)) {
    return BigInt((value as { text: string }).text);
  }
  throw new BadRequestError(`Invalid ${field}: expected a 64-bit integer, got ${describe(value)}`);
}

/** An optional JSON integer as bigint (undefined and null stay undefined). */
export function toOptionalLong(value: unknown, field: string): bigint | undefined {
  return value === undefined || value === null ? undefined : toLong(value, field);
}

/** A JSON integer that fits a 32-bit int; throws BadRequestError otherwise. */
export function toInt(value: unknown, field: string): number {
  const n = typeof value === "bigint" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || Math.abs(n) > 2 ** 31) {
    throw new BadRequestError(`Invalid ${field}: expected an integer, got ${describe(value)}`);
  }
  return n;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  return typeof value === "bigint" ? value.toString() : (stringifyJson(value) ?? String(value)).slice(0, 80);
}

function list(value: unknown, field: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new BadRequestError(`Invalid ${field}: expected a list`);
  return value;
}

function object(value: unknown, field: string): Obj {
  if (!isObject(value)) throw new BadRequestError(`Invalid ${field}: expected an object, got ${describe(value)}`);
  return value;
}

function str(value: unknown, field: string): string {
  if (typeof value !== "string") throw new BadRequestError(`Invalid ${field}: expected a string, got ${describe(value)}`);
  return value;
}

/** A snapshot from its JSON object (ids and times as bigint). */
export function snapshotFromJson(value: unknown): Snapshot {
  const o = object(value, "snapshot");
  const snapshot: Snapshot = {
    ...(o as unknown as Snapshot),
    "snapshot-id": toLong(o["snapshot-id"], "snapshot-id"),
    "sequence-number": toOptionalLong(o["sequence-number"], "sequence-number") ?? 0n,
    "timestamp-ms": toLong(o["timestamp-ms"], "timestamp-ms"),
    "manifest-list": str(o["manifest-list"], "manifest-list"),
    summary: object(o.summary, "summary") as Snapshot["summary"],
  };
  const parent = toOptionalLong(o["parent-snapshot-id"], "parent-snapshot-id");
  if (parent === undefined) delete snapshot["parent-snapshot-id"];
  else snapshot["parent-snapshot-id"] = parent;
  for (const key of ["first-row-id", "added-rows"] as const) {
    const v = toOptionalLong(o[key], key);
    if (v === undefined) delete snapshot[key];
    else snapshot[key] = v;
  }
  if (typeof snapshot.summary.operation !== "string") throw new BadRequestError("Invalid snapshot summary: missing operation");
  return snapshot;
}

/** A branch or tag from its JSON object. */
export function snapshotRefFromJson(value: unknown): SnapshotRef {
  const o = object(value, "snapshot ref");
  const type = o.type;
  if (type !== "branch" && type !== "tag") throw new BadRequestError(`Invalid snapshot ref type: ${describe(type)}`);
  const ref: SnapshotRef = { "snapshot-id": toLong(o["snapshot-id"], "snapshot-id"), type };
  const maxRef = toOptionalLong(o["max-ref-age-ms"], "max-ref-age-ms");
  const maxSnap = toOptionalLong(o["max-snapshot-age-ms"], "max-snapshot-age-ms");
  if (maxRef !== undefined) ref["max-ref-age-ms"] = maxRef;
  if (maxSnap !== undefined) ref["max-snapshot-age-ms"] = maxSnap;
  if (o["min-snapshots-to-keep"] !== undefined && o["min-snapshots-to-keep"] !== null) {
    ref["min-snapshots-to-keep"] = toInt(o["min-snapshots-to-keep"], "min-snapshots-to-keep");
  }
  return ref;
}

/** A statistics file from its JSON object. */
export function statisticsFromJson(value: unknown): StatisticsFile {
  const o = object(value, "statistics");
  return {
    ...(o as unknown as StatisticsFile),
    "snapshot-id": toLong(o["snapshot-id"], "snapshot-id"),
    "statistics-path": str(o["statistics-path"], "statistics-path"),
    "file-size-in-bytes": toLong(o["file-size-in-bytes"], "file-size-in-bytes"),
    "file-footer-size-in-bytes": toLong(o["file-footer-size-in-bytes"], "file-footer-size-in-bytes"),
    "blob-metadata": list(o["blob-metadata"], "blob-metadata"),
  };
}

/** A partition statistics file from its JSON object. */
export function partitionStatisticsFromJson(value: unknown): PartitionStatisticsFile {
  const o = object(value, "partition statistics");
  return {
    "snapshot-id": toLong(o["snapshot-id"], "snapshot-id"),
    "statistics-path": str(o["statistics-path"], "statistics-path"),
    "file-size-in-bytes": toLong(o["file-size-in-bytes"], "file-size-in-bytes"),
  };
}

function v1Spec(fields: unknown[]): PartitionSpec {
  let next = PARTITION_DATA_ID_START;
  const withIds = fields.map((f) => {
    const field = object(f, "partition field");
    const id = field["field-id"] === undefined ? next : toInt(field["field-id"], "field-id");
    next = Math.max(next, id) + 1;
    return { ...field, "field-id": id } as unknown as PartitionSpec["fields"][number];
  });
  return { "spec-id": 0, fields: withIds };
}

/** TableMetadata from a parsed metadata JSON value; throws BadRequestError when it is not one. */
export function tableMetadataFromJson(value: JsonValue | unknown): TableMetadata {
  const o = object(value, "table metadata");
  const formatVersion = toInt(o["format-version"], "format-version");
  if (formatVersion < 1 || formatVersion > 3) throw new BadRequestError(`Unsupported format-version: ${formatVersion}`);
  const schemas = o.schemas !== undefined ? (list(o.schemas, "schemas") as Schema[]) : [{ ...object(o.schema, "schema"), "schema-id": 0 } as Schema];
  const currentSchemaId = o["current-schema-id"] !== undefined ? toInt(o["current-schema-id"], "current-schema-id") : (schemas[0]?.["schema-id"] ?? 0);
  const specs = o["partition-specs"] !== undefined ? (list(o["partition-specs"], "partition-specs") as PartitionSpec[]) : [v1Spec(list(o["partition-spec"], "partition-spec"))];
  const maxFieldId = Math.max(PARTITION_DATA_ID_START - 1, ...specs.flatMap((s) => s.fields.map((f) => f["field-id"])));
  const sortOrders = o["sort-orders"] !== undefined ? (list(o["sort-orders"], "sort-orders") as SortOrder[]) : [{ "order-id": 0, fields: [] }];
  const snapshots = list(o.snapshots, "snapshots").map(snapshotFromJson);
  const currentRaw = toOptionalLong(o["current-snapshot-id"], "current-snapshot-id");
  const current = currentRaw === undefined || currentRaw === -1n ? undefined : currentRaw;
  const refs: Record<string, SnapshotRef> = {};
  for (const [name, ref] of Object.entries(o.refs === undefined ? {} : object(o.refs, "refs"))) refs[name] = snapshotRefFromJson(ref);
  if (current !== undefined && refs.main === undefined) refs.main = { "snapshot-id": current, type: "branch" };

  const metadata: TableMetadata = {
    "format-version": formatVersion as 1 | 2 | 3,
    "table-uuid": typeof o["table-uuid"] === "string" ? o["table-uuid"] : crypto.randomUUID(),
    location: str(o.location, "location"),
    "last-sequence-number": toOptionalLong(o["last-sequence-number"], "last-sequence-number") ?? 0n,
    "last-updated-ms": toLong(o["last-updated-ms"], "last-updated-ms"),
    "last-column-id": toInt(o["last-column-id"], "last-column-id"),
    schemas,
    "current-schema-id": currentSchemaId,
    "partition-specs": specs,
    "default-spec-id": o["default-spec-id"] !== undefined ? toInt(o["default-spec-id"], "default-spec-id") : 0,
    "last-partition-id": o["last-partition-id"] !== undefined ? toInt(o["last-partition-id"], "last-partition-id") : maxFieldId,
    properties: (o.properties === undefined ? {} : object(o.properties, "properties")) as Record<string, string>,
    snapshots,
    "snapshot-log": list(o["snapshot-log"], "snapshot-log").map((e): SnapshotLogEntry => {
      const entry = object(e, "snapshot-log entry");
      return { "timestamp-ms": toLong(entry["timestamp-ms"], "timestamp-ms"), "snapshot-id": toLong(entry["snapshot-id"], "snapshot-id") };
    }),
    "metadata-log": list(o["metadata-log"], "metadata-log").map((e): MetadataLogEntry => {
      const entry = object(e, "metadata-log entry");
      return { "timestamp-ms": toLong(entry["timestamp-ms"], "timestamp-ms"), "metadata-file": str(entry["metadata-file"], "metadata-file") };
    }),
    "sort-orders": sortOrders,
    "default-sort-order-id": o["default-sort-order-id"] !== undefined ? toInt(o["default-sort-order-id"], "default-sort-order-id") : 0,
    refs,
  };
  if (current !== undefined) metadata["current-snapshot-id"] = current;
  if (o.statistics !== undefined) metadata.statistics = list(o.statistics, "statistics").map(statisticsFromJson);
  if (o["partition-statistics"] !== undefined) {
    metadata["partition-statistics"] = list(o["partition-statistics"], "partition-statistics").map(partitionStatisticsFromJson);
  }
  const nextRowId = toOptionalLong(o["next-row-id"], "next-row-id");
  if (nextRowId !== undefined) metadata["next-row-id"] = nextRowId;
  if (o["encryption-keys"] !== undefined) metadata["encryption-keys"] = list(o["encryption-keys"], "encryption-keys") as TableMetadata["encryption-keys"];
  return metadata;
}

/** Parses metadata.json text; throws BadRequestError (or SyntaxError on bad JSON). */
export function parseTableMetadata(text: string): TableMetadata {
  return tableMetadataFromJson(parseJson(text));
}

/**
 * The JSON object of a metadata file, keys in the order Java writes them. v1/v2 files say
 * `current-snapshot-id: -1` for "none" (as Java does); v3 omits it. v1 files also carry the
 * deprecated single `schema` and `partition-spec`.
 */
export function tableMetadataToJsonObject(m: TableMetadata): Record<string, unknown> {
  const out: Record<string, unknown> = {
    "format-version": m["format-version"],
    "table-uuid": m["table-uuid"],
    location: m.location,
    "last-sequence-number": m["last-sequence-number"],
    "last-updated-ms": m["last-updated-ms"],
    "last-column-id": m["last-column-id"],
  };
  if (m["format-version"] === 1) out.schema = m.schemas.find((s) => s["schema-id"] === m["current-schema-id"]);
  out["current-schema-id"] = m["current-schema-id"];
  out.schemas = m.schemas;
  if (m["format-version"] === 1) out["partition-spec"] = m["partition-specs"].find((s) => s["spec-id"] === m["default-spec-id"])?.fields ?? [];
  out["default-spec-id"] = m["default-spec-id"];
  out["partition-specs"] = m["partition-specs"];
  out["last-partition-id"] = m["last-partition-id"];
  out["default-sort-order-id"] = m["default-sort-order-id"];
  out["sort-orders"] = m["sort-orders"];
  out.properties = m.properties;
  if (m["current-snapshot-id"] !== undefined) out["current-snapshot-id"] = m["current-snapshot-id"];
  else if (m["format-version"] < 3) out["current-snapshot-id"] = -1n;
  if (m["next-row-id"] !== undefined) out["next-row-id"] = m["next-row-id"];
  out.refs = m.refs;
  out.snapshots = m.snapshots;
  out.statistics = m.statistics ?? [];
  out["partition-statistics"] = m["partition-statistics"] ?? [];
  out["snapshot-log"] = m["snapshot-log"];
  out["metadata-log"] = m["metadata-log"];
  if (m["encryption-keys"] !== undefined) out["encryption-keys"] = m["encryption-keys"];
  return out;
}

/** metadata.json text of a TableMetadata (exact 64-bit values). */
export function stringifyTableMetadata(m: TableMetadata, space?: number): string {
  return stringifyJson(tableMetadataToJsonObject(m), space);
}
