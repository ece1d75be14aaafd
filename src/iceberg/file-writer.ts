/**
 * Writes rows of a table to Parquet data files: grouped by partition tuple, split at a target
 * size, named `<location>/data/[<partition path>/]<uuid>-<n>.parquet` (Java's layout, spec
 * "File System Operations" leaves names free), and described as manifest `DataFile`s.
 */
import type { NestedField } from "./metadata/types.js";
import type { BoundPartitionField } from "./avro-schema.js";
import type { DataFile } from "./data-file.js";
import type { ObjectStore } from "./object-store.js";
import { partitionPath, partitionTuple, tupleKey, type PartitionTuple } from "./partition.js";
import { writeParquet, writeParquetPaced, type ParquetWriteOptions, type Row } from "../parquet/writer.js";
import type { Pacer } from "../util/pace.js";
import { ColumnBlock } from "../parquet/column-block.js";
import { writePositionDeletes, type DeletedPosition } from "./position-deletes.js";

/** Where and how files are written. */
export interface FileSink {
  store: ObjectStore;
  keyFor: (location: string) => string;
  /** Table location (no trailing slash). */
  location: string;
  uuid: () => string;
  parquet: ParquetWriteOptions;
  /** Split a partition's rows into files of about this many (estimated, uncompressed) bytes. */
  targetFileSizeBytes: number;
  /** Paths written, for orphan cleanup when the commit fails. */
  written: string[];
  /** Pauses between column chunks (a Durable Object answers acks meanwhile); none: one stretch per file. */
  pace?: Pacer;
}

/** A written data file and where each input row landed. */
export interface WrittenData {
  file: DataFile;
  /** Input row index -> position in this file. */
  rows: number[];
}

function estimateSize(row: Row): number {
  let n = 0;
  for (const k in row) {
    const v = row[k];
    n += typeof v === "string" ? v.length + 4 : v instanceof Uint8Array ? v.length + 4 : 8;
  }
  return n;
}

function fileDir(sink: FileSink, bound: BoundPartitionField[], tuple: PartitionTuple): string {
  const p = partitionPath(bound, tuple);
  return `${sink.location}/data${p ? `/${p}` : ""}`;
}

/**
 * Writes rows (objects, or a ColumnBlock built column by column) as data files (one set per
 * partition); positions follow input order within a file.
 */
export async function writeDataFiles(sink: FileSink, fields: NestedField[], bound: BoundPartitionField[], rows: Row[] | ColumnBlock): Promise<WrittenData[]> {
  const block = rows instanceof ColumnBlock ? rows : undefined;
  const count = rows.length;
  const rowAt = (i: number): Row => (block ? block.row(i) : (rows as Row[])[i]!);
  const groups = new Map<string, { tuple: PartitionTuple; idx: number[] }>();
  if (bound.length === 0) groups.set("", { tuple: [], idx: Array.from({ length: count }, (_, i) => i) });
  else {
    for (let i = 0; i < count; i++) {
      const tuple = partitionTuple(bound, rowAt(i));
      const key = tupleKey(tuple);
      const g = groups.get(key) ?? { tuple, idx: [] };
      g.idx.push(i);
      groups.set(key, g);
    }
  }
  const sizes = block ? block.rowSizes() : undefined;
  const sizeOf = (i: number): number => (sizes ? sizes[i]! : estimateSize((rows as Row[])[i]!));
  const out: WrittenData[] = [];
  const batch = sink.uuid();
  for (const { tuple, idx } of groups.values()) {
    let start = 0;
    while (start < idx.length) {
      let end = start;
      let size = 0;
      while (end < idx.length && (end === start || size < sink.targetFileSizeBytes)) size += sizeOf(idx[end++]!);
      const part = idx.slice(start, end);
      const path = `${fileDir(sink, bound, tuple)}/${batch}-${out.length}.parquet`;
      const slice = block ? block.select(part) : part.map((i) => (rows as Row[])[i]!);
      const pq = sink.pace ? await writeParquetPaced(fields, slice, sink.parquet, sink.pace) : writeParquet(fields, slice, sink.parquet);
      await sink.store.put(sink.keyFor(path), pq.bytes);
      sink.written.push(path);
      const { bytes, recordCount, splitOffsets, ...metrics } = pq;
      out.push({
        file: { content: 0, filePath: path, fileFormat: "PARQUET", partition: tuple, recordCount, fileSizeInBytes: BigInt(bytes.length), splitOffsets, sortOrderId: 0, ...metrics },
        rows: part,
      });
      start = end;
    }
  }
  return out;
}

/** Writes position delete files, one per partition of the targeted data files. */
export async function writeDeleteFiles(sink: FileSink, bound: BoundPartitionField[], positions: DeletedPosition[], partitionOf: (filePath: string) => PartitionTuple): Promise<DataFile[]> {
  const groups = new Map<string, { tuple: PartitionTuple; positions: DeletedPosition[] }>();
  for (const p of positions) {
    const tuple = partitionOf(p.filePath);
    const key = tupleKey(tuple);
    const g = groups.get(key) ?? { tuple, positions: [] };
    g.positions.push(p);
    groups.set(key, g);
  }
  const out: DataFile[] = [];
  const batch = sink.uuid();
  for (const { tuple, positions: ps } of groups.values()) {
    const path = `${fileDir(sink, bound, tuple)}/${batch}-${out.length}-deletes.parquet`;
    const { bytes, dataFile } = writePositionDeletes(path, tuple, ps, sink.parquet);
    await sink.store.put(sink.keyFor(path), bytes);
    sink.written.push(path);
    out.push(dataFile);
  }
  return out;
}
