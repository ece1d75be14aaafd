/**
 * Manifest files (Iceberg spec, "Manifests"): Avro record `manifest_entry` with the `data_file`
 * struct `r2`, every field carrying its `field-id`, int-keyed maps as arrays of `k<id>_v<id>`
 * records with `logicalType: map`, and the required key/value metadata (schema, schema-id,
 * partition-spec, partition-spec-id, format-version, content). Format version 2.
 */
import { readAvroFile, writeAvroFile, type AvroCodecName } from "../avro/container.js";
import type { AvroField, AvroRecord, AvroSchema, AvroValue } from "../avro/types.js";
import { stringifyJson } from "../util/json.js";
import { bindSpec, fromAvroValue, partitionAvroSchema, toAvroValue, type BoundPartitionField } from "./avro-schema.js";
import type { DataFile, EntryStatusValue, FileContentValue, ManifestEntry } from "./data-file.js";
import type { PartitionSpec, Schema } from "./metadata/types.js";

const opt = (name: string, id: number, type: AvroSchema): AvroField => ({ name, type: ["null", type], default: null, "field-id": id });
const req = (name: string, id: number, type: AvroSchema): AvroField => ({ name, type, "field-id": id });

/** An optional int-keyed map field as Iceberg writes it in Avro (array of k/v records). */
function intMap(name: string, id: number, keyId: number, valueId: number, valueType: "long" | "bytes"): AvroField {
  return opt(name, id, {
    type: "array",
    logicalType: "map",
    items: { type: "record", name: `k${keyId}_v${valueId}`, fields: [req("key", keyId, "int"), req("value", valueId, valueType)] },
  });
}

/** The Avro schema of a v2 manifest entry for a partition spec (spec "Manifests", field ids 0-143). */
export function manifestEntrySchema(partition: BoundPartitionField[]): AvroRecord {
  const dataFile: AvroRecord = {
    type: "record",
    name: "r2",
    fields: [
      req("content", 134, "int"),
      req("file_path", 100, "string"),
      req("file_format", 101, "string"),
      req("partition", 102, partitionAvroSchema(partition)),
      req("record_count", 103, "long"),
      req("file_size_in_bytes", 104, "long"),
      intMap("column_sizes", 108, 117, 118, "long"),
      intMap("value_counts", 109, 119, 120, "long"),
      intMap("null_value_counts", 110, 121, 122, "long"),
      intMap("nan_value_counts", 137, 138, 139, "long"),
      intMap("lower_bounds", 125, 126, 127, "bytes"),
      intMap("upper_bounds", 128, 129, 130, "bytes"),
      opt("key_metadata", 131, "bytes"),
      opt("split_offsets", 132, { type: "array", items: "long", "element-id": 133 }),
      opt("equality_ids", 135, { type: "array", items: "int", "element-id": 136 }),
      opt("sort_order_id", 140, "int"),
      opt("referenced_data_file", 143, "string"),
    ],
  };
  return {
    type: "record",
    name: "manifest_entry",
    fields: [req("status", 0, "int"), opt("snapshot_id", 1, "long"), opt("sequence_number", 3, "long"), opt("file_sequence_number", 4, "long"), req("data_file", 2, dataFile)],
  };
}

/** What a manifest is written for. */
export interface ManifestInput {
  schema: Schema;
  spec: PartitionSpec;
  content: "data" | "deletes";
  entries: ManifestEntry[];
  codec?: AvroCodecName;
}

function mapToAvro<V>(m: Map<number, V> | undefined): AvroValue {
  if (!m || m.size === 0) return null;
  return [...m].sort((a, b) => a[0] - b[0]).map(([key, value]) => ({ key, value: value as AvroValue }));
}

function mapFromAvro<V>(v: AvroValue | undefined): Map<number, V> {
  const out = new Map<number, V>();
  for (const kv of (v ?? []) as { key: number; value: V }[]) out.set(kv.key, kv.value);
  return out;
}

/** Writes a manifest file; every entry must match `content` (data vs delete files). */
export function writeManifest(input: ManifestInput): Uint8Array {
  const bound = bindSpec(input.spec, input.schema);
  const names = partitionAvroSchema(bound).fields.map((f) => f.name);
  const records = input.entries.map((e) => {
    const f = e.dataFile;
    const isDelete = f.content !== 0;
    if (isDelete !== (input.content === "deletes")) throw new TypeError(`manifest of ${input.content} cannot hold content ${f.content} (${f.filePath})`);
    if (f.partition.length !== bound.length) throw new TypeError(`partition tuple of ${f.filePath} has ${f.partition.length} values, spec has ${bound.length}`);
    const partition: Record<string, AvroValue> = {};
    bound.forEach((b, i) => (partition[names[i]!] = toAvroValue(b.result, f.partition[i] ?? null)));
    return {
      status: e.status,
      snapshot_id: e.snapshotId,
      sequence_number: e.sequenceNumber,
      file_sequence_number: e.fileSequenceNumber,
      data_file: {
        content: f.content,
        file_path: f.filePath,
        file_format: f.fileFormat,
        partition,
        record_count: f.recordCount,
        file_size_in_bytes: f.fileSizeInBytes,
        column_sizes: mapToAvro(f.columnSizes),
        value_counts: mapToAvro(f.valueCounts),
        null_value_counts: mapToAvro(f.nullValueCounts),
        nan_value_counts: mapToAvro(f.nanValueCounts),
        lower_bounds: mapToAvro(f.lowerBounds),
        upper_bounds: mapToAvro(f.upperBounds),
        key_metadata: f.keyMetadata ?? null,
        split_offsets: f.splitOffsets ?? null,
        equality_ids: f.equalityIds ?? null,
        sort_order_id: f.sortOrderId ?? null,
        referenced_data_file: f.referencedDataFile ?? null,
      },
    };
  });
  return writeAvroFile(manifestEntrySchema(bound), records, {
    codec: input.codec ?? "deflate",
    metadata: {
      schema: stringifyJson(input.schema),
      "schema-id": String(input.schema["schema-id"]),
      "partition-spec": stringifyJson(input.spec.fields),
      "partition-spec-id": String(input.spec["spec-id"]),
      "format-version": "2",
      content: input.content,
    },
  });
}

/** Reads a manifest's entries back (partition values per `spec`, bound to `schema`). */
export function readManifest(bytes: Uint8Array, spec: PartitionSpec, schema: Schema): ManifestEntry[] {
  const bound = bindSpec(spec, schema);
  const file = readAvroFile(bytes);
  return file.records.map((r) => {
    const e = r as Record<string, AvroValue>;
    const f = e.data_file as Record<string, AvroValue>;
    const partRecord = f.partition as Record<string, AvroValue>;
    const partValues = Object.values(partRecord);
    const dataFile: DataFile = {
      content: f.content as FileContentValue,
      filePath: f.file_path as string,
      fileFormat: f.file_format as string,
      partition: bound.map((b, i) => fromAvroValue(b.result, partValues[i] ?? null)),
      recordCount: f.record_count as bigint,
      fileSizeInBytes: f.file_size_in_bytes as bigint,
      columnSizes: mapFromAvro(f.column_sizes),
      valueCounts: mapFromAvro(f.value_counts),
      nullValueCounts: mapFromAvro(f.null_value_counts),
      nanValueCounts: mapFromAvro(f.nan_value_counts),
      lowerBounds: mapFromAvro(f.lower_bounds),
      upperBounds: mapFromAvro(f.upper_bounds),
      keyMetadata: (f.key_metadata as Uint8Array | null) ?? null,
      splitOffsets: (f.split_offsets as bigint[] | null) ?? null,
      equalityIds: (f.equality_ids as number[] | null) ?? null,
      sortOrderId: (f.sort_order_id as number | null) ?? null,
      referencedDataFile: (f.referenced_data_file as string | null) ?? null,
    };
    return {
      status: e.status as EntryStatusValue,
      snapshotId: (e.snapshot_id as bigint | null) ?? null,
      sequenceNumber: (e.sequence_number as bigint | null) ?? null,
      fileSequenceNumber: (e.file_sequence_number as bigint | null) ?? null,
      dataFile,
    };
  });
}
