/**
 * The Iceberg table model as this codebase holds it: the spec's JSON shapes
 * (https://iceberg.apache.org/spec/#table-metadata-fields) with every 64-bit value as `bigint`.
 * Field names are the spec's JSON keys, so `stringifyJson(metadata)` is a valid metadata.json.
 * The generated REST types in gen/iceberg use `number` for these ids; convert at the edge.
 */

/** A primitive Iceberg type name: "long", "string", "decimal(10,2)", "fixed[16]", ... */
export type PrimitiveType = string;

/** A struct type. */
export interface StructType {
  type: "struct";
  fields: NestedField[];
}
/** A list type. */
export interface ListType {
  type: "list";
  "element-id": number;
  element: IcebergType;
  "element-required": boolean;
}
/** A map type. */
export interface MapType {
  type: "map";
  "key-id": number;
  key: IcebergType;
  "value-id": number;
  value: IcebergType;
  "value-required": boolean;
}
/** Any Iceberg type. */
export type IcebergType = PrimitiveType | StructType | ListType | MapType;

/** A field of a struct (a column at top level). */
export interface NestedField {
  id: number;
  name: string;
  required: boolean;
  type: IcebergType;
  doc?: string;
  "initial-default"?: unknown;
  "write-default"?: unknown;
}

/** A table schema. */
export interface Schema extends StructType {
  "schema-id": number;
  "identifier-field-ids"?: number[];
}

/** One field of a partition spec. */
export interface PartitionField {
  "source-id": number;
  "field-id": number;
  name: string;
  /** identity, year, month, day, hour, bucket[N], truncate[W], void */
  transform: string;
}
/** A partition spec. */
export interface PartitionSpec {
  "spec-id": number;
  fields: PartitionField[];
}

/** One field of a sort order. */
export interface SortField {
  "source-id": number;
  transform: string;
  direction: "asc" | "desc";
  "null-order": "nulls-first" | "nulls-last";
}
/** A sort order. */
export interface SortOrder {
  "order-id": number;
  fields: SortField[];
}

/** A snapshot's summary: "operation" plus string counters. */
export interface SnapshotSummary {
  operation: "append" | "replace" | "overwrite" | "delete";
  [key: string]: string;
}

/** A snapshot. */
export interface Snapshot {
  "snapshot-id": bigint;
  "parent-snapshot-id"?: bigint;
  "sequence-number": bigint;
  "timestamp-ms": bigint;
  "manifest-list": string;
  summary: SnapshotSummary;
  "schema-id"?: number;
  /** v3 row lineage: first row id of this snapshot's new rows. */
  "first-row-id"?: bigint;
  /** v3 row lineage: upper bound of rows given ids by this snapshot. */
  "added-rows"?: bigint;
}

/** A branch or tag. */
export interface SnapshotRef {
  "snapshot-id": bigint;
  type: "branch" | "tag";
  "max-ref-age-ms"?: bigint;
  "max-snapshot-age-ms"?: bigint;
  "min-snapshots-to-keep"?: number;
}

/** An entry of the snapshot log. */
export interface SnapshotLogEntry {
  "snapshot-id": bigint;
  "timestamp-ms": bigint;
}
/** An entry of the metadata log. */
export interface MetadataLogEntry {
  "metadata-file": string;
  "timestamp-ms": bigint;
}

/** A statistics file (puffin), as the spec's StatisticsFile. */
export interface StatisticsFile {
  "snapshot-id": bigint;
  "statistics-path": string;
  "file-size-in-bytes": bigint;
  "file-footer-size-in-bytes": bigint;
  "blob-metadata": unknown[];
  "key-metadata"?: string;
}
/** A partition statistics file. */
export interface PartitionStatisticsFile {
  "snapshot-id": bigint;
  "statistics-path": string;
  "file-size-in-bytes": bigint;
}

/** A table encryption key (v3), as the spec's EncryptedKey. */
export interface EncryptedKey {
  "key-id": string;
  "encrypted-key-metadata": string;
  "encrypted-by-id"?: string;
  properties?: Record<string, string>;
}

/** Table metadata, format v2. */
export interface TableMetadata {
  "format-version": 1 | 2 | 3;
  "table-uuid": string;
  location: string;
  "last-sequence-number": bigint;
  "last-updated-ms": bigint;
  "last-column-id": number;
  schemas: Schema[];
  "current-schema-id": number;
  "partition-specs": PartitionSpec[];
  "default-spec-id": number;
  "last-partition-id": number;
  properties: Record<string, string>;
  "current-snapshot-id"?: bigint;
  snapshots: Snapshot[];
  "snapshot-log": SnapshotLogEntry[];
  "metadata-log": MetadataLogEntry[];
  "sort-orders": SortOrder[];
  "default-sort-order-id": number;
  refs: Record<string, SnapshotRef>;
  statistics?: StatisticsFile[];
  "partition-statistics"?: PartitionStatisticsFile[];
  "next-row-id"?: bigint;
  "encryption-keys"?: EncryptedKey[];
}

/**
 * A metadata update, as the REST spec's TableUpdate (discriminated by `action`).
 * The catalog applies these (src/catalog); the CDC writer produces them too, so both
 * writers go through the same commit path.
 */
export type TableUpdate =
  | { action: "assign-uuid"; uuid: string }
  | { action: "upgrade-format-version"; "format-version": number }
  | { action: "add-schema"; schema: Schema; "last-column-id"?: number }
  | { action: "set-current-schema"; "schema-id": number }
  | { action: "add-spec"; spec: PartitionSpec }
  | { action: "set-default-spec"; "spec-id": number }
  | { action: "add-sort-order"; "sort-order": SortOrder }
  | { action: "set-default-sort-order"; "sort-order-id": number }
  | { action: "add-snapshot"; snapshot: Snapshot }
  | ({ action: "set-snapshot-ref"; "ref-name": string } & SnapshotRef)
  | { action: "remove-snapshots"; "snapshot-ids": bigint[] }
  | { action: "remove-snapshot-ref"; "ref-name": string }
  | { action: "set-location"; location: string }
  | { action: "set-properties"; updates: Record<string, string> }
  | { action: "remove-properties"; removals: string[] }
  | { action: "set-statistics"; "snapshot-id"?: bigint; statistics: StatisticsFile }
  | { action: "remove-statistics"; "snapshot-id": bigint }
  | { action: "set-partition-statistics"; "partition-statistics": PartitionStatisticsFile }
  | { action: "remove-partition-statistics"; "snapshot-id": bigint }
  | { action: "remove-partition-specs"; "spec-ids": number[] }
  | { action: "remove-schemas"; "schema-ids": number[] }
  | { action: "add-encryption-key"; "encryption-key": EncryptedKey }
  | { action: "remove-encryption-key"; "key-id": string };

/** A commit requirement, as the REST spec's TableRequirement (discriminated by `type`). */
export type TableRequirement =
  | { type: "assert-create" }
  | { type: "assert-table-uuid"; uuid: string }
  | { type: "assert-ref-snapshot-id"; ref: string; "snapshot-id": bigint | null }
  | { type: "assert-last-assigned-field-id"; "last-assigned-field-id": number }
  | { type: "assert-current-schema-id"; "current-schema-id": number }
  | { type: "assert-last-assigned-partition-id"; "last-assigned-partition-id": number }
  | { type: "assert-default-spec-id"; "default-spec-id": number }
  | { type: "assert-default-sort-order-id"; "default-sort-order-id": number };
