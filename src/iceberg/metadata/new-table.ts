/**
 * A fresh table: the metadata a catalog writes for create-table. As the REST spec's createTable
 * and Java's TableMetadata.newTableMetadata require, every field id the client sent is replaced:
 * schema fields from 1 (each struct's fields first, then their nested types, as Java's
 * AssignFreshIds does), partition fields from 1000, and the spec and sort order are rebound to
 * the new ids.
 */
import { BadRequestError } from "./errors.js";
import { PARTITION_DATA_ID_START } from "./json.js";
import type { IcebergType, NestedField, PartitionSpec, Schema, SortOrder, TableMetadata } from "./types.js";

/** What a new table is made of; ids in schema, spec and sort order are the caller's and get reassigned. */
export interface NewTableInput {
  schema: Schema | Omit<Schema, "schema-id">;
  partitionSpec?: { fields: Array<Omit<PartitionSpec["fields"][number], "field-id"> & { "field-id"?: number }> };
  sortOrder?: { fields: SortOrder["fields"] };
  location: string;
  properties?: Record<string, string>;
  /** 2 unless the client asked for another (`format-version` property or request field). */
  formatVersion?: 1 | 2 | 3;
  /** Defaults to a random UUID. */
  tableUuid?: string;
  /** Epoch ms of creation. */
  now: bigint;
}

/** Table properties that steer creation and are not stored as properties (Java's reserved ones). */
const RESERVED_PROPERTIES = ["format-version", "uuid", "snapshot-count", "current-snapshot-id", "current-snapshot-summary", "current-snapshot-timestamp-ms", "current-schema", "default-partition-spec", "default-sort-order"];

/** Result of giving a schema fresh ids: the new schema and old id -> new id. */
export interface FreshSchema {
  schema: Schema;
  idMap: Map<number, number>;
  lastColumnId: number;
}

/** Reassigns every field id of a schema from `start + 1` on, breadth-first per struct (Java's AssignFreshIds). */
export function assignFreshIds(schema: Schema | Omit<Schema, "schema-id">, schemaId = 0, start = 0): FreshSchema {
  let last = start;
  const idMap = new Map<number, number>();
  const next = (old: number | undefined): number => {
    last += 1;
    if (old !== undefined && !idMap.has(old)) idMap.set(old, last);
    return last;
  };
  const visit = (type: IcebergType): IcebergType => {
    if (typeof type === "string") return type;
    if (type.type === "struct") {
      const ids = type.fields.map((f) => next(f.id));
      return { type: "struct", fields: type.fields.map((f, i): NestedField => ({ ...f, id: ids[i] as number, type: visit(f.type) })) };
    }
    if (type.type === "list") {
      const elementId = next(type["element-id"]);
      return { ...type, "element-id": elementId, element: visit(type.element) };
    }
    if (type.type === "map") {
      const keyId = next(type["key-id"]);
      const valueId = next(type["value-id"]);
      return { ...type, "key-id": keyId, "value-id": valueId, key: visit(type.key), value: visit(type.value) };
    }
    throw new BadRequestError(`Unknown type: ${JSON.stringify(type)}`);
  };
  if (!schema || schema.type !== "struct" || !Array.isArray(schema.fields)) throw new BadRequestError("Invalid schema: expected a struct with fields");
  const struct = visit({ type: "struct", fields: schema.fields }) as Schema;
  const fresh: Schema = { type: "struct", "schema-id": schemaId, fields: struct.fields };
  const identifiers = schema["identifier-field-ids"];
  if (identifiers && identifiers.length > 0) {
    fresh["identifier-field-ids"] = identifiers.map((id) => {
      const mapped = idMap.get(id);
      if (mapped === undefined) throw new BadRequestError(`Cannot find identifier field id ${id} in the schema`);
      return mapped;
    });
  }
  return { schema: fresh, idMap, lastColumnId: last };
}

function mapSource(idMap: Map<number, number>, sourceId: number, what: string): number {
  const mapped = idMap.get(sourceId);
  if (mapped === undefined) throw new BadRequestError(`Cannot find source column for ${what}: ${sourceId}`);
  return mapped;
}

/** A fresh format-v2 (or as asked) TableMetadata for create-table. */
export function newTableMetadata(input: NewTableInput): TableMetadata {
  const { schema, idMap, lastColumnId } = assignFreshIds(input.schema);
  const specFields = (input.partitionSpec?.fields ?? []).map((f, i) => ({
    "source-id": mapSource(idMap, f["source-id"], `partition field ${f.name}`),
    "field-id": PARTITION_DATA_ID_START + i,
    name: f.name,
    transform: f.transform,
  }));
  const names = new Set<string>();
  for (const f of specFields) {
    if (names.has(f.name)) throw new BadRequestError(`Cannot use partition name more than once: ${f.name}`);
    names.add(f.name);
  }
  const sortFields = (input.sortOrder?.fields ?? []).map((f) => ({ ...f, "source-id": mapSource(idMap, f["source-id"], "sort field") }));
  const sortOrderId = sortFields.length > 0 ? 1 : 0;
  const properties = { ...(input.properties ?? {}) };
  const requestedVersion = properties["format-version"];
  for (const key of RESERVED_PROPERTIES) delete properties[key];
  const formatVersion = input.formatVersion ?? (requestedVersion !== undefined ? parseFormatVersion(requestedVersion) : 2);

  const metadata: TableMetadata = {
    "format-version": formatVersion,
    "table-uuid": input.tableUuid ?? crypto.randomUUID(),
    location: input.location.replace(/\/+$/, ""),
    "last-sequence-number": 0n,
    "last-updated-ms": input.now,
    "last-column-id": lastColumnId,
    schemas: [schema],
    "current-schema-id": 0,
    "partition-specs": [{ "spec-id": 0, fields: specFields }],
    "default-spec-id": 0,
    "last-partition-id": PARTITION_DATA_ID_START - 1 + specFields.length,
    properties,
    snapshots: [],
    "snapshot-log": [],
    "metadata-log": [],
    "sort-orders": sortFields.length > 0 ? [{ "order-id": sortOrderId, fields: sortFields }] : [{ "order-id": 0, fields: [] }],
    "default-sort-order-id": sortOrderId,
    refs: {},
    statistics: [],
    "partition-statistics": [],
  };
  if (formatVersion >= 3) metadata["next-row-id"] = 0n;
  return metadata;
}

function parseFormatVersion(text: string): 1 | 2 | 3 {
  const v = Number(text);
  if (v !== 1 && v !== 2 && v !== 3) throw new BadRequestError(`Unsupported format version: v${text} (supported: v3)`);
  return v;
}
