/**
 * Manifest lists (Iceberg spec, "Manifest Lists"): Avro record `manifest_file` (field ids
 * 500-519) with partition field summaries `r508`, and the file metadata Java and pyiceberg write
 * (snapshot-id, parent-snapshot-id, sequence-number, format-version). Also the summary of one
 * manifest's entries that becomes its manifest-list row.
 */
import { readAvroFile, writeAvroFile, type AvroCodecName } from "../avro/container.js";
import type { AvroField, AvroRecord, AvroSchema, AvroValue } from "../avro/types.js";
import type { BoundPartitionField } from "./avro-schema.js";
import { EntryStatus, type FieldSummary, type ManifestEntry, type ManifestFile } from "./data-file.js";
import { comparePrimitive, type PrimitiveValue } from "./primitive.js";
import { toSingleValue } from "./single-value.js";

const opt = (name: string, id: number, type: AvroSchema): AvroField => ({ name, type: ["null", type], default: null, "field-id": id });
const req = (name: string, id: number, type: AvroSchema): AvroField => ({ name, type, "field-id": id });

/** The v2 manifest-list Avro schema (record `manifest_file`). */
export const MANIFEST_FILE_SCHEMA: AvroRecord = {
  type: "record",
  name: "manifest_file",
  fields: [
    req("manifest_path", 500, "string"),
    req("manifest_length", 501, "long"),
    req("partition_spec_id", 502, "int"),
    req("content", 517, "int"),
    req("sequence_number", 515, "long"),
    req("min_sequence_number", 516, "long"),
    req("added_snapshot_id", 503, "long"),
    req("added_files_count", 504, "int"),
    req("existing_files_count", 505, "int"),
    req("deleted_files_count", 506, "int"),
    req("added_rows_count", 512, "long"),
    req("existing_rows_count", 513, "long"),
    req("deleted_rows_count", 514, "long"),
    opt("partitions", 507, {
      type: "array",
      "element-id": 508,
      items: {
        type: "record",
        name: "r508",
        fields: [req("contains_null", 509, "boolean"), opt("contains_nan", 518, "boolean"), opt("lower_bound", 510, "bytes"), opt("upper_bound", 511, "bytes")],
      },
    }),
    opt("key_metadata", 519, "bytes"),
  ],
};

/** What a manifest list is written for. */
export interface ManifestListInput {
  snapshotId: bigint;
  parentSnapshotId: bigint | null;
  sequenceNumber: bigint;
  manifests: ManifestFile[];
  codec?: AvroCodecName;
}

/** Writes a manifest list. */
export function writeManifestList(input: ManifestListInput): Uint8Array {
  const records = input.manifests.map((m) => ({
    manifest_path: m.manifestPath,
    manifest_length: m.manifestLength,
    partition_spec_id: m.partitionSpecId,
    content: m.content,
    sequence_number: m.sequenceNumber,
    min_sequence_number: m.minSequenceNumber,
    added_snapshot_id: m.addedSnapshotId,
    added_files_count: m.addedFilesCount,
    existing_files_count: m.existingFilesCount,
    deleted_files_count: m.deletedFilesCount,
    added_rows_count: m.addedRowsCount,
    existing_rows_count: m.existingRowsCount,
    deleted_rows_count: m.deletedRowsCount,
    partitions: m.partitions?.map((p) => ({ contains_null: p.containsNull, contains_nan: p.containsNan, lower_bound: p.lowerBound, upper_bound: p.upperBound })) ?? null,
    key_metadata: m.keyMetadata ?? null,
  }));
  return writeAvroFile(MANIFEST_FILE_SCHEMA, records, {
    codec: input.codec ?? "deflate",
    metadata: {
      "snapshot-id": String(input.snapshotId),
      "parent-snapshot-id": input.parentSnapshotId === null ? "null" : String(input.parentSnapshotId),
      "sequence-number": String(input.sequenceNumber),
      "format-version": "2",
    },
  });
}

/** Reads a manifest list (v2; v1 lists read with content 0 and sequence numbers 0). */
export function readManifestList(bytes: Uint8Array): ManifestFile[] {
  return readAvroFile(bytes).records.map((rec) => {
    const r = rec as Record<string, AvroValue>;
    const parts = r.partitions as Record<string, AvroValue>[] | null | undefined;
    return {
      manifestPath: r.manifest_path as string,
      manifestLength: r.manifest_length as bigint,
      partitionSpecId: r.partition_spec_id as number,
      content: ((r.content as number | undefined) ?? 0) as 0 | 1,
      sequenceNumber: (r.sequence_number as bigint | undefined) ?? 0n,
      minSequenceNumber: (r.min_sequence_number as bigint | undefined) ?? 0n,
      addedSnapshotId: r.added_snapshot_id as bigint,
      addedFilesCount: (r.added_files_count ?? r.added_data_files_count ?? 0) as number,
      existingFilesCount: (r.existing_files_count ?? r.existing_data_files_count ?? 0) as number,
      deletedFilesCount: (r.deleted_files_count ?? r.deleted_data_files_count ?? 0) as number,
      addedRowsCount: (r.added_rows_count as bigint | undefined) ?? 0n,
      existingRowsCount: (r.existing_rows_count as bigint | undefined) ?? 0n,
      deletedRowsCount: (r.deleted_rows_count as bigint | undefined) ?? 0n,
      partitions:
        parts?.map((p) => ({
          containsNull: p.contains_null as boolean,
          containsNan: (p.contains_nan as boolean | null | undefined) ?? null,
          lowerBound: (p.lower_bound as Uint8Array | null | undefined) ?? null,
          upperBound: (p.upper_bound as Uint8Array | null | undefined) ?? null,
        })) ?? null,
      keyMetadata: (r.key_metadata as Uint8Array | null | undefined) ?? null,
    };
  });
}

/** Where a freshly written manifest lives and which snapshot added it. */
export interface ManifestPlacement {
  manifestPath: string;
  manifestLength: bigint;
  partitionSpecId: number;
  content: 0 | 1;
  snapshotId: bigint;
  sequenceNumber: bigint;
}

/** The manifest-list row of a manifest: counts, min sequence number and partition summaries. */
export function summarizeManifest(place: ManifestPlacement, entries: ManifestEntry[], partition: BoundPartitionField[]): ManifestFile {
  const count = (s: number) => entries.filter((e) => e.status === s);
  const rows = (es: ManifestEntry[]) => es.reduce((n, e) => n + e.dataFile.recordCount, 0n);
  const live = entries.filter((e) => e.status !== EntryStatus.DELETED);
  // Added entries inherit the manifest's sequence number; others carry theirs explicitly.
  const seqs = live.map((e) => e.sequenceNumber ?? place.sequenceNumber);
  const minSeq = seqs.length ? seqs.reduce((a, b) => (b < a ? b : a)) : place.sequenceNumber;
  return {
    manifestPath: place.manifestPath,
    manifestLength: place.manifestLength,
    partitionSpecId: place.partitionSpecId,
    content: place.content,
    sequenceNumber: place.sequenceNumber,
    minSequenceNumber: minSeq,
    addedSnapshotId: place.snapshotId,
    addedFilesCount: count(EntryStatus.ADDED).length,
    existingFilesCount: count(EntryStatus.EXISTING).length,
    deletedFilesCount: count(EntryStatus.DELETED).length,
    addedRowsCount: rows(count(EntryStatus.ADDED)),
    existingRowsCount: rows(count(EntryStatus.EXISTING)),
    deletedRowsCount: rows(count(EntryStatus.DELETED)),
    partitions: partitionSummaries(entries, partition),
  };
}

/** Partition field summaries (spec "Manifest Lists": field_summary) over the entries' tuples. */
export function partitionSummaries(entries: ManifestEntry[], partition: BoundPartitionField[]): FieldSummary[] {
  return partition.map((b, i) => {
    let containsNull = false;
    let containsNan = false;
    let lo: PrimitiveValue | undefined;
    let hi: PrimitiveValue | undefined;
    for (const e of entries) {
      const v = e.dataFile.partition[i] ?? null;
      if (v === null) containsNull = true;
      else if (typeof v === "number" && Number.isNaN(v)) containsNan = true;
      else {
        if (lo === undefined || comparePrimitive(b.result, v, lo) < 0) lo = v;
        if (hi === undefined || comparePrimitive(b.result, v, hi) > 0) hi = v;
      }
    }
    const floating = b.result.kind === "float" || b.result.kind === "double";
    return {
      containsNull,
      containsNan: floating ? containsNan : false,
      lowerBound: lo === undefined ? null : toSingleValue(b.result, lo),
      upperBound: hi === undefined ? null : toSingleValue(b.result, hi),
    };
  });
}
