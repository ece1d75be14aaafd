/**
 * The output side of a compaction step (compaction.ts): surviving rows in, data files out, cut at
 * `targetFileSizeBytes`. When the one-pass Parquet encoder handles every column and the store takes
 * multipart uploads (R2), each row group is encoded as soon as it is full (rowGroupRows rows or
 * ROW_GROUP_BYTES) and streamed into the file's upload (object-upload.ts), so memory holds one row
 * group and at most one part (5 MiB)
 * whatever the file's size, and no encode is longer than one row group (acks wait through it).
 * Otherwise (binary/uuid/fixed columns) a file's rows are kept and encoded in one go at the cut.
 */
import { ParquetStreamWriter, writeParquet, type ParquetWriteOptions, type Row, type StreamWriterState } from "../parquet/writer.js";
import type { DataFile } from "./data-file.js";
import type { NestedField } from "./metadata/types.js";
import type { ObjectStore } from "./object-store.js";
import { StreamedObject, type StreamedObjectState, type UploadTracker } from "./object-upload.js";
import type { PartitionTuple } from "./partition.js";

/** What the output writer needs. */
export interface OutputOptions {
  fields: NestedField[];
  store: ObjectStore;
  keyFor: (location: string) => string;
  /** Location of the n-th output file. */
  pathOf: (n: number) => string;
  partition: PartitionTuple;
  parquet: ParquetWriteOptions;
  targetFileSizeBytes: number;
  /** Locations written, appended as each file completes (deleted by the caller if the step fails). */
  written: string[];
  /** Called before each encode (a macrotask yield, so acks are answered between row groups). */
  pause: () => Promise<void>;
  tracker?: UploadTracker;
  /**
   * A compaction job's slices: a file reaching its cut is sent whole but its upload not completed
   * (`closed` lists it; the job completes it before its commit), and the writer goes on from `resume`.
   */
  job?: { resume?: OutputState };
}

/** Where a job's output stands between slices: the next ordinal and file number, and the file open. */
export interface OutputState {
  ordinal: number;
  fileNo: number;
  open?: { path: string; first: number; rows: number; writer: StreamWriterState; object: StreamedObjectState };
}

/** A file a job's slice closed: its manifest facts, its ordinal range, and its upload to complete. */
export interface ClosedOutput {
  file: DataFile;
  range: { path: string; first: number; count: number };
  object: StreamedObjectState;
}

/** A streamed row group is cut at this many (estimated, uncompressed) bytes even below its row count: wide rows stay bounded too. */
export const ROW_GROUP_BYTES = 4 * 1024 * 1024;

interface OpenFile {
  path: string;
  first: number;
  rows: number;
  writer?: ParquetStreamWriter;
  object?: StreamedObject;
}

/** Writes a step's surviving rows into data files; rows are numbered (ordinals) in the order added. */
export class CompactionOutput {
  /** The files written, in order. */
  readonly added: DataFile[] = [];
  /** Ordinal ranges of the files written: rows first..first+count-1 are positions 0.. of `path`. */
  readonly ranges: Array<{ path: string; first: number; count: number }> = [];
  /** Bytes of the files written. */
  addedBytes = 0;
  private readonly streaming: boolean;
  private readonly groupRows: number;
  private pending: Row[] = [];
  private pendingBytes = 0;
  private ordinal = 0;
  private fileNo = 0;
  private file: OpenFile | undefined;
  /** Files closed by a job's slice, their uploads not completed yet. */
  readonly closed: ClosedOutput[] = [];

  constructor(private readonly o: OutputOptions) {
    this.streaming = ParquetStreamWriter.supports(o.fields) && o.store.startUpload !== undefined;
    this.groupRows = o.parquet.rowGroupRows ?? 100_000;
    const r = o.job?.resume;
    if (r) {
      this.ordinal = r.ordinal;
      this.fileNo = r.fileNo;
      if (r.open) {
        const { path, first, rows } = r.open;
        this.file = { path, first, rows, writer: ParquetStreamWriter.restore(o.fields, o.parquet, r.open.writer), object: StreamedObject.resume(o.store, r.open.object, o.tracker) };
      }
    }
  }

  /**
   * Ends a job's slice: the pending rows become a row group (a short one) so nothing but bytes and
   * footer facts is left to save; without the streaming encoder the file is closed instead.
   */
  async endSlice(): Promise<OutputState> {
    if (!this.streaming) await this.closeFile();
    else if (this.pending.length) await this.encodeGroup();
    const f = this.file;
    return {
      ordinal: this.ordinal,
      fileNo: this.fileNo,
      ...(f?.writer ? { open: { path: f.path, first: f.first, rows: f.rows, writer: f.writer.save(), object: f.object!.save() } } : {}),
    };
  }

  /** Adds one surviving row and returns its ordinal; call `drain()` while `full`. */
  add(row: Row): number {
    if (!this.file) this.file = { path: this.o.pathOf(this.fileNo++), first: this.ordinal, rows: 0 };
    this.pending.push(row);
    this.file.rows++;
    this.pendingBytes += estimateSize(row);
    return this.ordinal++;
  }

  /** True when the rows added fill a row group (streaming) or a file (encoded in one go). */
  get full(): boolean {
    if (!this.streaming) return this.pendingBytes >= this.o.targetFileSizeBytes;
    return this.pending.length >= this.groupRows || this.pendingBytes >= ROW_GROUP_BYTES;
  }

  /** Encodes and sends what `full` asked for; closes the file once it reached the target size. */
  async drain(): Promise<void> {
    if (!this.streaming) return this.closeFile();
    await this.encodeGroup();
    if (this.file!.object!.byteLength >= this.o.targetFileSizeBytes) await this.closeFile();
  }

  /** Writes the last file. */
  async finish(): Promise<void> {
    await this.closeFile();
  }

  /** Aborts an upload in progress (the step failed). */
  async abort(): Promise<void> {
    await this.file?.object?.abort();
    this.file = undefined;
  }

  private async encodeGroup(): Promise<void> {
    const f = this.file!;
    if (!f.writer) {
      f.writer = new ParquetStreamWriter(this.o.fields, this.o.parquet);
      f.object = new StreamedObject(this.o.store, this.o.keyFor(f.path), undefined, this.o.tracker);
    }
    const parts = await f.writer.rowGroupPaced(this.pending, this.o.pause);
    this.pending = [];
    this.pendingBytes = 0;
    for (const p of parts) await f.object!.write(p);
  }

  private async closeFile(): Promise<void> {
    const f = this.file;
    if (!f || f.rows === 0) return;
    let facts: Omit<DataFile, "content" | "filePath" | "fileFormat" | "partition" | "sortOrderId">;
    let size: number;
    if (this.streaming) {
      if (this.pending.length) await this.encodeGroup();
      const { tail, file, byteLength } = f.writer!.finish();
      for (const t of tail) await f.object!.write(t);
      if (this.o.job) await f.object!.sendAll();
      else await f.object!.finish();
      facts = { ...file, fileSizeInBytes: BigInt(byteLength) };
      size = byteLength;
    } else {
      await this.o.pause();
      const pq = writeParquet(this.o.fields, this.pending, this.o.parquet);
      this.pending = [];
      this.pendingBytes = 0;
      await this.o.store.put(this.o.keyFor(f.path), pq.bytes);
      const { bytes, ...file } = pq;
      facts = { ...file, fileSizeInBytes: BigInt(bytes.length) };
      size = bytes.length;
    }
    this.o.written.push(f.path);
    const dataFile: DataFile = { content: 0, filePath: f.path, fileFormat: "PARQUET", partition: this.o.partition, sortOrderId: 0, ...facts };
    const range = { path: f.path, first: f.first, count: f.rows };
    this.added.push(dataFile);
    this.ranges.push(range);
    this.addedBytes += size;
    if (this.o.job) this.closed.push({ file: dataFile, range, object: f.object ? f.object.save() : { key: this.o.keyFor(f.path), parts: [], byteLength: size, pending: new Uint8Array(0) } });
    this.file = undefined;
  }
}

/** A row's uncompressed size, roughly (the cut of files encoded in one go). */
function estimateSize(row: Row): number {
  let n = 0;
  for (const v of Object.values(row)) n += typeof v === "string" ? v.length + 4 : v instanceof Uint8Array ? v.length + 4 : 8;
  return n;
}
