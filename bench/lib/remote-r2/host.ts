/**
 * The R2 side of a bench where R2 is not on the object's thread (bench/lib/remote-r2/split.mjs):
 * a Worker of its own `wrangler dev` holding the local R2 bucket, reached by the DoLake session
 * through a service binding (RPC). Under one `wrangler dev`, the local R2 simulator runs on the
 * object's thread; on Cloudflare R2 is a remote service. Bench only: never deployed.
 */
import { WorkerEntrypoint } from "cloudflare:workers";

interface HostEnv {
  LAKEHOUSE_BUCKET: R2Bucket;
}

/** What crosses the binding for an object: its metadata, and its bytes when it has a body. */
export interface WireObject {
  key: string;
  version: string;
  size: number;
  etag: string;
  httpEtag: string;
  uploaded: Date;
  httpMetadata?: R2HTTPMetadata;
  customMetadata?: Record<string, string>;
  range?: R2Range;
  bytes?: ArrayBuffer;
}

function meta(o: R2Object): WireObject {
  return { key: o.key, version: o.version, size: o.size, etag: o.etag, httpEtag: o.httpEtag, uploaded: o.uploaded, httpMetadata: o.httpMetadata, customMetadata: o.customMetadata, range: o.range };
}

/** The bucket's operations as RPC methods (values as ArrayBuffers, objects as WireObject). */
export class R2Host extends WorkerEntrypoint<HostEnv> {
  async get(key: string, options?: R2GetOptions): Promise<WireObject | null> {
    const o = await this.env.LAKEHOUSE_BUCKET.get(key, options);
    if (!o) return null;
    return "body" in o ? { ...meta(o), bytes: await (o as R2ObjectBody).arrayBuffer() } : meta(o);
  }
  async head(key: string): Promise<WireObject | null> {
    const o = await this.env.LAKEHOUSE_BUCKET.head(key);
    return o ? meta(o) : null;
  }
  async put(key: string, value: ArrayBuffer | string | null, options?: R2PutOptions): Promise<WireObject | null> {
    const o = await this.env.LAKEHOUSE_BUCKET.put(key, value, options);
    return o ? meta(o) : null;
  }
  async delete(keys: string | string[]): Promise<void> {
    await this.env.LAKEHOUSE_BUCKET.delete(keys);
  }
  async list(options?: R2ListOptions): Promise<{ objects: WireObject[]; truncated: boolean; cursor?: string; delimitedPrefixes: string[] }> {
    const l = await this.env.LAKEHOUSE_BUCKET.list(options);
    return { objects: l.objects.map(meta), truncated: l.truncated, cursor: l.truncated ? l.cursor : undefined, delimitedPrefixes: l.delimitedPrefixes };
  }
  async createMultipartUpload(key: string, options?: R2MultipartOptions): Promise<string> {
    return (await this.env.LAKEHOUSE_BUCKET.createMultipartUpload(key, options)).uploadId;
  }
  async uploadPart(key: string, uploadId: string, partNumber: number, value: ArrayBuffer): Promise<R2UploadedPart> {
    return this.env.LAKEHOUSE_BUCKET.resumeMultipartUpload(key, uploadId).uploadPart(partNumber, value);
  }
  async complete(key: string, uploadId: string, parts: R2UploadedPart[]): Promise<WireObject> {
    return meta(await this.env.LAKEHOUSE_BUCKET.resumeMultipartUpload(key, uploadId).complete(parts));
  }
  async abort(key: string, uploadId: string): Promise<void> {
    await this.env.LAKEHOUSE_BUCKET.resumeMultipartUpload(key, uploadId).abort();
  }
}

export default {
  fetch(request: Request): Response {
    return new URL(request.url).pathname === "/health" ? Response.json({ status: "ok" }) : new Response("not found", { status: 404 });
  },
} satisfies ExportedHandler<HostEnv>;
