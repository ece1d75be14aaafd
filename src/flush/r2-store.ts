/** The writers' ObjectStore over an R2 bucket, with retries and backoff on transient failures. */
import type { ObjectStore, ObjectUpload, UploadedPart } from "../iceberg/object-store.js";
import { sleep } from "../util/pace.js";

/** Retries of one R2 operation before the flush fails (and the circuit breaker counts it). */
const ATTEMPTS = 3;

async function withRetry<T>(what: string, op: () => Promise<T>): Promise<T> {
  let last: unknown;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    try {
      return await op();
    } catch (e) {
      last = e;
      if (attempt + 1 < ATTEMPTS) await sleep(50 * 4 ** attempt);
    }
  }
  throw new Error(`R2 ${what} failed after ${ATTEMPTS} attempts: ${(last as Error)?.message ?? last}`);
}

/** An ObjectStore writing to R2. */
export class R2ObjectStore implements ObjectStore {
  /** Keys written through this store (for cleanup when a commit fails). */
  readonly written: string[] = [];
  constructor(private readonly bucket: R2Bucket) {}

  async put(key: string, bytes: Uint8Array): Promise<void> {
    await withRetry(`put ${key}`, () => this.bucket.put(key, bytes));
    this.written.push(key);
  }

  async get(key: string): Promise<Uint8Array | null> {
    return withRetry(`get ${key}`, async () => {
      const obj = await this.bucket.get(key);
      return obj ? new Uint8Array(await obj.arrayBuffer()) : null;
    });
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    return withRetry(`get ${key} [${offset}, +${length})`, async () => {
      const obj = await this.bucket.get(key, { range: { offset, length } });
      if (!obj) throw new Error(`object vanished while being read: ${key}`);
      return new Uint8Array(await obj.arrayBuffer());
    });
  }

  async startUpload(key: string): Promise<ObjectUpload> {
    const up = await withRetry(`create multipart upload ${key}`, () => this.bucket.createMultipartUpload(key));
    return this.upload(key, up, []);
  }

  resumeUpload(key: string, uploadId: string, parts: readonly UploadedPart[]): ObjectUpload {
    return this.upload(key, this.bucket.resumeMultipartUpload(key, uploadId), parts);
  }

  private upload(key: string, up: R2MultipartUpload, sent: readonly UploadedPart[]): ObjectUpload {
    // A part sent again (a slice redone after a crash) replaces the earlier one of its number.
    const parts = new Map<number, UploadedPart>(sent.map((p) => [p.partNumber, p]));
    return {
      uploadId: up.uploadId,
      uploadPart: async (n, bytes) => {
        const p = await withRetry(`upload part ${n} of ${key}`, () => up.uploadPart(n, bytes));
        const part = { partNumber: p.partNumber, etag: p.etag };
        parts.set(n, part);
        return part;
      },
      complete: async () => {
        await withRetry(`complete multipart upload ${key}`, () => up.complete([...parts.values()].sort((a, b) => a.partNumber - b.partNumber)));
        this.written.push(key);
      },
      abort: () => up.abort(),
    };
  }

  /** Deletes what this store wrote (best effort; unreferenced files are harmless). */
  async deleteWritten(): Promise<void> {
    for (let i = 0; i < this.written.length; i += 1000) {
      await this.bucket.delete(this.written.slice(i, i + 1000)).catch(() => undefined);
    }
  }
}
