/**
 * The manifest model (Iceberg spec, "Manifests" and "Manifest Lists") as plain TS objects: data
 * and delete files with their metrics, manifest entries, and manifest-list entries. 64-bit
 * counts and ids are bigint; metric maps are keyed by field id.
 */
import type { PrimitiveValue } from "./primitive.js";

/** data_file.content (spec "Manifests", field 134). */
export const FileContent = { DATA: 0, POSITION_DELETES: 1, EQUALITY_DELETES: 2 } as const;
/** A data_file.content value. */
export type FileContentValue = (typeof FileContent)[keyof typeof FileContent];

/** manifest_entry.status (field 0). */
export const EntryStatus = { EXISTING: 0, ADDED: 1, DELETED: 2 } as const;
/** A manifest_entry.status value. */
export type EntryStatusValue = (typeof EntryStatus)[keyof typeof EntryStatus];

/** Column metrics for one file, keyed by field id (fields 108-130 of data_file). */
export interface FileMetrics {
  columnSizes: Map<number, bigint>;
  valueCounts: Map<number, bigint>;
  nullValueCounts: Map<number, bigint>;
  nanValueCounts: Map<number, bigint>;
  lowerBounds: Map<number, Uint8Array>;
  upperBounds: Map<number, Uint8Array>;
}

/** One data or delete file (the `data_file` struct, Avro record r2). */
export interface DataFile extends FileMetrics {
  content: FileContentValue;
  filePath: string;
  /** "PARQUET" (as Java writes it). */
  fileFormat: string;
  /** Partition tuple values in partition-spec field order (empty for unpartitioned). */
  partition: (PrimitiveValue | null)[];
  recordCount: bigint;
  fileSizeInBytes: bigint;
  keyMetadata?: Uint8Array | null;
  splitOffsets?: bigint[] | null;
  equalityIds?: number[] | null;
  sortOrderId?: number | null;
  referencedDataFile?: string | null;
}

/** A manifest entry: a file plus its status and (possibly inherited) snapshot and sequence numbers. */
export interface ManifestEntry {
  status: EntryStatusValue;
  /** null = inherit the manifest's added_snapshot_id. */
  snapshotId: bigint | null;
  /** Data sequence number; null = inherit (ADDED entries only). */
  sequenceNumber: bigint | null;
  fileSequenceNumber: bigint | null;
  dataFile: DataFile;
}

/** A partition field summary in a manifest list (field 507, element r508). */
export interface FieldSummary {
  containsNull: boolean;
  containsNan: boolean | null;
  lowerBound: Uint8Array | null;
  upperBound: Uint8Array | null;
}

/** manifest_file.content (field 517). */
export const ManifestContent = { DATA: 0, DELETES: 1 } as const;

/** One entry of a manifest list (Avro record manifest_file). */
export interface ManifestFile {
  manifestPath: string;
  manifestLength: bigint;
  partitionSpecId: number;
  content: 0 | 1;
  sequenceNumber: bigint;
  minSequenceNumber: bigint;
  addedSnapshotId: bigint;
  addedFilesCount: number;
  existingFilesCount: number;
  deletedFilesCount: number;
  addedRowsCount: bigint;
  existingRowsCount: bigint;
  deletedRowsCount: bigint;
  partitions: FieldSummary[] | null;
  keyMetadata?: Uint8Array | null;
}

/** Empty metric maps. */
export function emptyMetrics(): FileMetrics {
  return {
    columnSizes: new Map(),
    valueCounts: new Map(),
    nullValueCounts: new Map(),
    nanValueCounts: new Map(),
    lowerBounds: new Map(),
    upperBounds: new Map(),
  };
}
