/**
 * An R2Bucket whose operations run in another `wrangler dev` (host.ts), for benches that keep the
 * local R2 simulator off the object's thread. Covers what DoLake calls; bench only.
 */
import type { R2Host, WireObject } from "./host.js";

type Host = Service<R2Host>;

/** The R2 object (and body) shapes over a WireObject. */
function objectOf(w: WireObject): R2Object | R2ObjectBody {
  const base = {
    key: w.key, version: w.version, size: w.size, etag: w.etag, httpEtag: w.httpEtag, uploaded: new Date(w.uploaded),
    httpMetadata: w.httpMetadata, customMetadata: w.customMetadata, range: w.range, checksums: {} as R2Checksums, storageClass: "Standard",
    writeHttpMetadata(headers: Headers) {
      const h = w.httpMetadata ?? {};
      if (h.contentType) headers.set("content-type", h.contentType);
      if (h.contentEncoding) headers.set("content-encoding", h.contentEncoding);
      if (h.contentDisposition) headers.set("content-disposition", h.contentDisposition);
      if (h.contentLanguage) headers.set("content-language", h.contentLanguage);
      if (h.cacheControl) headers.set("cache-control", h.cacheControl);
    },
  };
  const bytes = w.bytes;
  if (!bytes) return base as unknown as R2Object;
  return {
    ...base,
    get body() {
      return new Response(bytes).body!;
    },
    bodyUsed: false,
    arrayBuffer: async () => bytes,
    bytes: async () => new Uint8Array(bytes),
    text: async () => new TextDecoder().decode(bytes),
    json: async () => JSON.parse(new TextDecoder().decode(bytes)),
    blob: async () => new Blob([bytes]),
  } as unknown as R2ObjectBody;
}

async function bytesOf(value: ReadableStream | ArrayBuffer | ArrayBufferView | string | null | Blob): Promise<ArrayBuffer | string | null> {
  if (value === null || typeof value === "string" || value instanceof ArrayBuffer) return value;
  if (ArrayBuffer.isView(value)) return value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength) as ArrayBuffer;
  return new Response(value).arrayBuffer();
}

function upload(host: Host, key: string, uploadId: string): R2MultipartUpload {
  return {
    key,
    uploadId,
    uploadPart: async (n: number, value: ReadableStream | ArrayBuffer | ArrayBufferView | string | Blob) => host.uploadPart(key, uploadId, n, (await bytesOf(value)) as ArrayBuffer),
    complete: async (parts: R2UploadedPart[]) => objectOf(await host.complete(key, uploadId, parts)) as R2Object,
    abort: async () => host.abort(key, uploadId),
  } as R2MultipartUpload;
}

/** The bucket, through the host's RPC methods. */
export function remoteBucket(host: Host): R2Bucket {
  return {
    get: async (key: string, options?: R2GetOptions) => {
      const w = await host.get(key, options);
      return w ? objectOf(w) : null;
    },
    head: async (key: string) => {
      const w = await host.head(key);
      return w ? objectOf(w) : null;
    },
    put: async (key: string, value: ReadableStream | ArrayBuffer | ArrayBufferView | string | null | Blob, options?: R2PutOptions) => {
      const w = await host.put(key, await bytesOf(value), options);
      return w ? objectOf(w) : null;
    },
    delete: async (keys: string | string[]) => host.delete(keys),
    list: async (options?: R2ListOptions) => {
      const l = await host.list(options);
      return { ...l, objects: l.objects.map((o) => objectOf(o) as R2Object) };
    },
    createMultipartUpload: async (key: string, options?: R2MultipartOptions) => upload(host, key, await host.createMultipartUpload(key, options)),
    resumeMultipartUpload: (key: string, uploadId: string) => upload(host, key, uploadId),
  } as unknown as R2Bucket;
}
