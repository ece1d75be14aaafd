/**
 * Writes one object from a stream of byte chunks in bounded memory: the chunks are buffered until
 * a part is full, then sent as a multipart upload's part; an object smaller than one part is
 * written with a single put. R2's rules (developers.cloudflare.com/r2/objects/multipart-objects):
 * parts of 5 MiB to 5 GiB, every part but the last the same size, the last no larger, at most
 * 10,000 parts. Memory: one part plus the chunk being added.
 */
import type { ObjectStore, ObjectUpload, UploadedPart } from "./object-store.js";

/** R2's smallest part (all but the last). */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
/** R2's most parts per upload. */
const MAX_PARTS = 10_000;

/** Learns when an upload starts and ends (the compactor keeps the id in SQLite to abort it after a crash). */
export interface UploadTracker {
  started(key: string, uploadId: string): void;
  ended(key: string, uploadId: string): void;
}

/**
 * Where a StreamedObject stands, to go on with it in another instance of the object (a compaction
 * job's slices): the upload and its parts sent, and the bytes not sent yet (less than one part).
 */
export interface StreamedObjectState {
  key: string;
  uploadId?: string;
  parts: UploadedPart[];
  byteLength: number;
  /** Bytes written but not sent (under one part). */
  pending: Uint8Array;
}

/** One object written part by part. */
export class StreamedObject {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private upload: ObjectUpload | undefined;
  private parts = 0;
  private readonly sent: UploadedPart[] = [];
  /** Bytes written so far (sent or buffered). */
  byteLength = 0;

  constructor(
    private readonly store: ObjectStore,
    readonly key: string,
    private readonly partBytes = MIN_PART_BYTES,
    private readonly tracker?: UploadTracker,
  ) {
    if (!(partBytes >= MIN_PART_BYTES)) throw new RangeError(`parts must be at least ${MIN_PART_BYTES} bytes`);
  }

  /** Goes on with an object from its saved state (the upload is resumed, the pending bytes buffered again). */
  static resume(store: ObjectStore, state: StreamedObjectState, tracker?: UploadTracker): StreamedObject {
    const o = new StreamedObject(store, state.key, MIN_PART_BYTES, tracker);
    if (state.uploadId !== undefined) {
      if (!store.resumeUpload) throw new Error("the store cannot resume an upload");
      o.upload = store.resumeUpload(state.key, state.uploadId, state.parts);
      o.sent.push(...state.parts);
      o.parts = state.parts.length;
    }
    o.byteLength = state.byteLength;
    if (state.pending.length > 0) {
      o.chunks.push(state.pending);
      o.buffered = state.pending.length;
    }
    return o;
  }

  /** The state to resume from (copies the pending bytes into one array). */
  save(): StreamedObjectState {
    const pending = this.take(this.buffered);
    if (pending.length > 0) {
      this.chunks = [pending];
      this.buffered = pending.length;
    }
    return { key: this.key, ...(this.upload ? { uploadId: this.upload.uploadId } : {}), parts: [...this.sent], byteLength: this.byteLength, pending };
  }

  /**
   * Sends everything written (the last part may be short), without completing the upload: the
   * state saved after this completes it later (`completeSaved`). An object under one part is put.
   */
  async sendAll(): Promise<void> {
    const rest = this.take(this.buffered);
    if (!this.upload) {
      await this.store.put(this.key, rest);
      return;
    }
    if (rest.length > 0) await this.sendPart(rest);
  }

  /** True when the store can take a multipart upload (else the whole object is buffered and put). */
  get streams(): boolean {
    return this.store.startUpload !== undefined;
  }

  /** Adds bytes at the end of the object; sends every part that is full. */
  async write(bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0) return;
    this.chunks.push(bytes);
    this.buffered += bytes.length;
    this.byteLength += bytes.length;
    while (this.streams && this.buffered >= this.partBytes) await this.sendPart(this.take(this.partBytes));
  }

  /** Writes what is left and makes the object visible. */
  async finish(): Promise<void> {
    await this.sendAll();
    if (!this.upload) return;
    await this.upload.complete();
    this.tracker?.ended(this.key, this.upload.uploadId);
    this.upload = undefined;
  }

  /** Drops an upload in progress (best effort); the object never appears. */
  async abort(): Promise<void> {
    this.chunks = [];
    this.buffered = 0;
    const up = this.upload;
    this.upload = undefined;
    if (!up) return;
    await up.abort().catch(() => undefined);
    this.tracker?.ended(this.key, up.uploadId);
  }

  private async sendPart(part: Uint8Array): Promise<void> {
    if (!this.upload) {
      this.upload = await this.store.startUpload!(this.key);
      this.tracker?.started(this.key, this.upload.uploadId);
    }
    if (this.parts >= MAX_PARTS) throw new RangeError(`object ${this.key} would need more than ${MAX_PARTS} parts`);
    this.sent.push(await this.upload.uploadPart(++this.parts, part));
  }

  /** The first n buffered bytes as one array (the chunks are copied once). */
  private take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - at);
      out.set(k === c.length ? c : c.subarray(0, k), at);
      at += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.buffered -= n;
    return out;
  }
}

/**
 * Completes an upload whose parts were all sent (StreamedObject.sendAll) and saved; an object put
 * whole (no upload) is already there. After a crash between completing and saving that it was
 * completed, the object exists and the upload is gone: that counts as done.
 */
export async function completeSaved(store: ObjectStore, state: StreamedObjectState, exists: (key: string) => Promise<boolean>, tracker?: UploadTracker): Promise<void> {
  if (state.uploadId === undefined) return;
  try {
    await store.resumeUpload!(state.key, state.uploadId, state.parts).complete();
  } catch (e) {
    if (!(await exists(state.key))) throw e;
  }
  tracker?.ended(state.key, state.uploadId);
}
