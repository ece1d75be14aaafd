/**
 * The storage the writers need: R2 in production, a Map or a local folder in tests. Keys are
 * object keys; `keyForLocation` turns a table file's URI (`s3://bucket/a/b`) into one (`a/b`).
 */

/** Where files are put and read. */
export interface ObjectStore {
  /** Stores the bytes under the key (overwrites). */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** The bytes under the key, or null when absent. */
  get(key: string): Promise<Uint8Array | null>;
  /** `length` bytes of the object from `offset` (ranged read); absent: callers read the whole object. */
  getRange?(key: string, offset: number, length: number): Promise<Uint8Array>;
  /** Starts a multipart upload (R2's rules: parts of 5 MiB to 5 GiB, all but the last the same size, at most 10,000). */
  startUpload?(key: string): Promise<ObjectUpload>;
  /** Goes on with an upload started earlier (by another instance of the object), its parts sent so far given. */
  resumeUpload?(key: string, uploadId: string, parts: readonly UploadedPart[]): ObjectUpload;
}

/** A part sent (R2's R2UploadedPart): completing the upload names each part by number and etag. */
export interface UploadedPart {
  partNumber: number;
  etag: string;
}

/** One multipart upload in progress (src/iceberg/object-upload.ts cuts the parts). */
export interface ObjectUpload {
  /** The store's id of the upload (kept by the caller to abort it after a crash). */
  readonly uploadId: string;
  /** Uploads the next part (numbered from 1; sending a number again replaces that part). */
  uploadPart(partNumber: number, bytes: Uint8Array): Promise<UploadedPart>;
  /** Makes the object visible from its parts 1..n (the last sent of each number), in order. */
  complete(): Promise<void>;
  /** Drops the parts; the object never appears. */
  abort(): Promise<void>;
}

/**
 * Default location -> key mapping: `s3://bucket/k` and `r2://bucket/k` -> `k`; `file:///abs` ->
 * `/abs`; anything without a scheme is already a key.
 */
export function keyForLocation(location: string): string {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/]*)(\/.*)?$/i.exec(location);
  if (!m) return location;
  if (m[1]!.toLowerCase() === "file") return m[3] ?? "/";
  return (m[3] ?? "/").slice(1);
}

/** An in-memory ObjectStore (tests, and a model of R2's semantics for the writer). */
export class MemoryObjectStore implements ObjectStore {
  /** The stored objects. */
  readonly objects = new Map<string, Uint8Array>();
  /** Stores a copy of the bytes. */
  async put(key: string, bytes: Uint8Array): Promise<void> {
    this.objects.set(key, bytes.slice());
  }
  /** Returns the stored bytes or null. */
  async get(key: string): Promise<Uint8Array | null> {
    return this.objects.get(key) ?? null;
  }
  /** Part sizes of every upload completed so far (tests check R2's part rules on them). */
  readonly completedUploads: Array<{ key: string; partSizes: number[] }> = [];
  /** Returns a range of the stored bytes. */
  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    const b = this.objects.get(key);
    if (!b) throw new Error(`no such object: ${key}`);
    return b.slice(offset, offset + length);
  }
  /** Uploads in progress by id: their parts by number. */
  readonly uploads = new Map<string, Map<number, Uint8Array>>();
  private uploadCount = 0;
  /** A multipart upload held in memory until complete. */
  async startUpload(key: string): Promise<ObjectUpload> {
    const id = `mem-${++this.uploadCount}-${key}`;
    this.uploads.set(id, new Map());
    return this.resumeUpload(key, id, []);
  }
  /** An upload in progress (its parts are kept by id, as R2 keeps them). */
  resumeUpload(key: string, uploadId: string, sent: readonly UploadedPart[]): ObjectUpload {
    const known = [...sent];
    const store = () => {
      const parts = this.uploads.get(uploadId);
      if (!parts) throw new Error(`no such upload: ${uploadId}`);
      return parts;
    };
    return {
      uploadId,
      uploadPart: async (n, bytes) => {
        store().set(n, bytes.slice());
        const part = { partNumber: n, etag: `${uploadId}/${n}/${bytes.length}` };
        const at = known.findIndex((p) => p.partNumber === n);
        if (at >= 0) known[at] = part;
        else known.push(part);
        return part;
      },
      complete: async () => {
        const parts = store();
        const ordered = known.slice().sort((a, b) => a.partNumber - b.partNumber).map((p, i) => {
          if (p.partNumber !== i + 1) throw new Error(`part ${i + 1} missing`);
          return parts.get(p.partNumber)!;
        });
        const all = new Uint8Array(ordered.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of ordered) { all.set(p, at); at += p.length; }
        this.objects.set(key, all);
        this.uploads.delete(uploadId);
        this.completedUploads.push({ key, partSizes: ordered.map((p) => p.length) });
      },
      abort: async () => { this.uploads.delete(uploadId); },
    };
  }
}
