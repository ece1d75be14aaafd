/**
 * One slice of a compaction job (issue 9, "long jobs as resumable steps"): from a cursor (input
 * file, row), the input row groups are read and their surviving rows added to the job's output
 * until about `budgetBytes` of input were read (at least one row group), then the slice ends at a
 * row-group boundary. The caller persists the cursor, the output's state and the position map of
 * the rows read (src/flush/compaction-job.ts), so the next slice (in this instance of the object
 * or another, after an eviction) goes on from there. Memory: as a step (compaction.ts), plus the
 * position map of the input file being read (4 bytes a row).
 */
import { parquetMetadataAsync } from "hyparquet";
import type { CompactionOutput } from "./compaction-output.js";
import { decodeRowGroup, openInput, WHOLE_READ_BYTES, type CompactionStats } from "./compaction.js";
import type { NestedField } from "./metadata/types.js";
import type { ObjectStore } from "./object-store.js";

/** The next input row a job reads: file index, and row position in it (a row-group boundary). */
export interface SliceCursor {
  file: number;
  row: number;
}

/** An input file of a job. */
export interface JobInput {
  path: string;
  size: bigint;
}

/** The rows [from, to) of an input file a slice read, and where each went (output ordinal, -1 = deleted). */
export interface SliceTargets {
  path: string;
  targets: Int32Array;
  from: number;
  to: number;
}

/** What one slice needs. */
export interface SliceArgs {
  store: ObjectStore;
  keyFor: (location: string) => string;
  /** The current schema's columns (the output's). */
  fields: NestedField[];
  inputs: JobInput[];
  /** Deleted positions of the input files at the job's start. */
  deleted: Map<string, Set<number>>;
  output: CompactionOutput;
  cursor: SliceCursor;
  /** Bytes of input (compressed column chunks) after which the slice ends. */
  budgetBytes: number;
  /** The position map of an input file so far (a file resumed mid-way has its earlier rows mapped). */
  targetsFor: (path: string, rows: number) => Int32Array | Promise<Int32Array>;
  /** Counters, added to. */
  stats: CompactionStats;
}

/** What a slice did: the new cursor, whether the input is exhausted, and the map of the rows read. */
export interface SliceResult {
  cursor: SliceCursor;
  done: boolean;
  touched: SliceTargets[];
  bytesRead: number;
}

/** Reads input row groups from the cursor into the output until the budget is spent; see the module comment. */
export async function rewriteSlice(a: SliceArgs): Promise<SliceResult> {
  let { file: fi, row } = a.cursor;
  const touched: SliceTargets[] = [];
  let spent = 0;
  while (fi < a.inputs.length && (spent === 0 || spent < a.budgetBytes)) {
    const input = a.inputs[fi]!;
    const live = { file: { filePath: input.path, fileSizeInBytes: input.size } };
    // A file larger than a slice is read by ranges, so a slice reads only its row groups.
    const file = await openInput({ store: a.store, keyFor: a.keyFor, wholeReadBytes: Math.min(WHOLE_READ_BYTES, a.budgetBytes) }, live);
    const meta = await parquetMetadataAsync(file);
    const byId = new Map(meta.schema.slice(1).filter((e) => e.field_id !== undefined).map((e) => [e.field_id!, e.name]));
    const columns = a.fields.filter((c) => byId.has(c.id)).map((c) => ({ name: c.name, from: byId.get(c.id)! }));
    const numRows = Number(meta.num_rows);
    const targets = await a.targetsFor(input.path, numRows);
    const gone = a.deleted.get(input.path);
    const from = row;
    if (row === 0) {
      a.stats.rewrittenFiles++;
      a.stats.rewrittenBytes += Number(input.size);
    }
    let rowStart = 0;
    for (const rg of meta.row_groups) {
      const rowEnd = rowStart + Number(rg.num_rows);
      if (rowEnd <= row) {
        rowStart = rowEnd;
        continue;
      }
      if (rowStart !== row) throw new Error(`compaction cursor ${row} of ${input.path} is not at a row group's start`);
      if (spent > 0 && spent >= a.budgetBytes) break;
      const rows = await decodeRowGroup(file, meta, rowStart, rowEnd, columns);
      for (let i = 0; i < rows.length; i++) {
        const pos = rowStart + i;
        if (gone?.has(pos)) {
          a.stats.rowsDropped++;
          continue;
        }
        targets[pos] = a.output.add(rows[i]!);
        a.stats.rowsKept++;
        if (a.output.full) await a.output.drain();
      }
      spent += rg.columns.reduce((n, c) => n + Number(c.meta_data?.total_compressed_size ?? 0n), 0) || Math.ceil((Number(input.size) * (rowEnd - rowStart)) / Math.max(1, numRows));
      row = rowStart = rowEnd;
    }
    touched.push({ path: input.path, targets, from, to: row });
    if (row >= numRows) {
      fi++;
      row = 0;
    }
  }
  return { cursor: { file: fi, row }, done: fi >= a.inputs.length, touched, bytesRead: spent };
}
