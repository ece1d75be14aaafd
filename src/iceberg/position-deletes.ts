/**
 * Position delete files (Iceberg spec "Position Delete Files"): rows of (file_path, pos) with the
 * reserved field ids 2147483546 and 2147483545, sorted by file_path then pos, written as Parquet.
 * `referenced_data_file` is set when the file targets a single data file. `file_path` bounds are
 * written whole (Java's MetricsConfig.forPositionDelete uses metrics mode "full" for it), so
 * readers can tell which data files a delete file touches.
 */
import type { DataFile } from "./data-file.js";
import type { NestedField } from "./metadata/types.js";
import type { PartitionTuple } from "./partition.js";
import { parquetReadObjects } from "hyparquet";
import { PARQUET_DECOMPRESSORS } from "../parquet/decompressors.js";
import { writeParquet, type ParquetWriteOptions } from "../parquet/writer.js";
import { compareCodePoints } from "./primitive.js";
import { toArrayBuffer } from "./compaction-slice.js";

/** Reserved field id of `file_path` in position delete files. */
export const DELETE_FILE_PATH_ID = 2147483546;
/** Reserved field id of `pos` in position delete files. */
export const DELETE_POS_ID = 2147483545;

/** The position delete row schema (without the optional `row` column, which nobody writes). */
export const POSITION_DELETE_FIELDS: NestedField[] = [
  { id: DELETE_FILE_PATH_ID, name: "file_path", required: true, type: "string", doc: "Path of a file in which a deleted row is stored" },
  { id: DELETE_POS_ID, name: "pos", required: true, type: "long", doc: "Ordinal position of a deleted row in the data file" },
];

/** One deleted row position. */
export interface DeletedPosition {
  filePath: string;
  pos: bigint;
}

/** Writes a position delete file for positions of one partition; returns its bytes and manifest entry fields. */
export function writePositionDeletes(
  path: string,
  partition: PartitionTuple,
  positions: DeletedPosition[],
  options: ParquetWriteOptions = {},
): { bytes: Uint8Array; dataFile: DataFile } {
  const sorted = [...positions].sort((a, b) => compareCodePoints(a.filePath, b.filePath) || (a.pos < b.pos ? -1 : a.pos > b.pos ? 1 : 0));
  const rows = sorted.map((p) => ({ file_path: p.filePath, pos: p.pos }));
  const out = writeParquet(POSITION_DELETE_FIELDS, rows, { ...options, fullBounds: [DELETE_FILE_PATH_ID, DELETE_POS_ID] });
  const targets = new Set(sorted.map((p) => p.filePath));
  const { bytes, recordCount, splitOffsets, ...metrics } = out;
  return {
    bytes,
    dataFile: {
      content: 1,
      filePath: path,
      fileFormat: "PARQUET",
      partition,
      recordCount,
      fileSizeInBytes: BigInt(bytes.length),
      splitOffsets,
      sortOrderId: null,
      referencedDataFile: targets.size === 1 ? sorted[0]!.filePath : null,
      ...metrics,
    },
  };
}

/** The (file_path, pos) rows of a position delete file, whoever wrote it (ZSTD and GZIP included). */
export async function readPositionDeletes(bytes: Uint8Array): Promise<DeletedPosition[]> {
  const rows = await parquetReadObjects({ file: toArrayBuffer(bytes), columns: ["file_path", "pos"], compressors: PARQUET_DECOMPRESSORS });
  return rows.map((r) => ({ filePath: String(r.file_path), pos: BigInt(r.pos as bigint | number) }));
}
