/**
 * Object operations: GetObject (with Range and conditional headers), HeadObject, PutObject,
 * CopyObject and DeleteObject, over the R2 binding. Response headers follow S3's
 * (ETag, Last-Modified, Content-Length, Content-Range, Accept-Ranges, x-amz-meta-*).
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html and siblings.
 */
import { uploadBody } from "./body.js";
import { type S3Request, checkKey } from "./request.js";
import { S3Error, isoTime, noSuchKey, xmlResponse } from "./xml.js";

/** Content type S3 reports for objects stored without one. */
const DEFAULT_CONTENT_TYPE = "binary/octet-stream";

/** A parsed Range header: R2's range option, or undefined when the whole object is wanted. */
export type ByteRange = { offset: number; length?: number } | { suffix: number };

/** Parses `Range: bytes=a-b | a- | -n`; undefined for absent, multi-range or unparseable (S3 then sends all). */
export function parseRange(header: string | null): ByteRange | undefined {
  if (!header) return undefined;
  const m = /^\s*bytes=(\d*)-(\d*)\s*$/.exec(header);
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") return { suffix: Number(m[2]) };
  const offset = Number(m[1]);
  if (m[2] === "") return { offset };
  const last = Number(m[2]);
  if (last < offset) return undefined;
  return { offset, length: last - offset + 1 };
}

/** The HTTP status a failed precondition maps to (RFC 9110 section 13.2.2, as S3 applies it). */
export function preconditionStatus(obj: R2Object, headers: Headers): 304 | 412 | undefined {
  const etag = obj.etag;
  const matches = (list: string) => list.split(",").some((t) => t.trim() === "*" || t.trim().replace(/^W\//, "").replace(/"/g, "") === etag);
  const modifiedSeconds = Math.floor(obj.uploaded.getTime() / 1000);
  const ifMatch = headers.get("if-match");
  const ifNoneMatch = headers.get("if-none-match");
  const ifUnmodified = Date.parse(headers.get("if-unmodified-since") ?? "");
  const ifModified = Date.parse(headers.get("if-modified-since") ?? "");
  if (ifMatch !== null) {
    if (!matches(ifMatch)) return 412;
  } else if (!Number.isNaN(ifUnmodified) && modifiedSeconds > ifUnmodified / 1000) return 412;
  if (ifNoneMatch !== null) {
    if (matches(ifNoneMatch)) return 304;
  } else if (!Number.isNaN(ifModified) && modifiedSeconds <= ifModified / 1000) return 304;
  return undefined;
}

/** Response headers describing an object (shared by GET and HEAD). */
function objectHeaders(obj: R2Object, params: Map<string, string>): Headers {
  const headers = new Headers();
  obj.writeHttpMetadata(headers);
  if (!headers.has("content-type")) headers.set("Content-Type", DEFAULT_CONTENT_TYPE);
  headers.set("ETag", obj.httpEtag);
  headers.set("Last-Modified", obj.uploaded.toUTCString());
  headers.set("Accept-Ranges", "bytes");
  for (const [k, v] of Object.entries(obj.customMetadata ?? {})) headers.set(`x-amz-meta-${k}`, v);
  // Presigned GETs may override response headers (response-content-type=..., etc.).
  for (const name of ["content-type", "content-language", "expires", "cache-control", "content-disposition", "content-encoding"]) {
    const v = params.get(`response-${name}`);
    if (v !== undefined) headers.set(name, v);
  }
  return headers;
}

/** GetObject and HeadObject: one R2 read for whole-object GETs and HEADs, head + read for ranges. */
export async function getObject(req: S3Request, head: boolean): Promise<Response> {
  const { bucket, key, request } = req;
  const partNumber = req.params.get("partNumber");
  if (partNumber !== undefined && partNumber !== "1") throw new S3Error(416, "InvalidPartNumber", "The requested partnumber is not satisfiable");
  const range = parseRange(request.headers.get("range"));
  if (!head && !range) {
    const obj = await bucket.get(key);
    if (!obj) throw noSuchKey(key);
    const failed = checkPreconditions(obj, request.headers);
    if (failed) {
      await obj.body.cancel();
      return failed;
    }
    const headers = objectHeaders(obj, req.params);
    headers.set("Content-Length", String(obj.size));
    return new Response(obj.body, { status: 200, headers });
  }
  const meta = await bucket.head(key);
  if (!meta) throw noSuchKey(key);
  const failed = checkPreconditions(meta, request.headers);
  if (failed) return failed;
  // R2 refuses ranges that start past the end, so the range is resolved against the size first.
  const size = meta.size;
  const resolved = range && size > 0 ? resolveRange(range, size) : undefined;
  const [start, end] = bounds(resolved, size);
  let body: ReadableStream | null = null;
  if (!head) {
    // The etag condition makes the read atomic with the head: a concurrent overwrite is a 412, not mixed bytes.
    const obj = await bucket.get(key, { range: resolved, onlyIf: { etagMatches: meta.etag } });
    if (!obj) throw noSuchKey(key);
    if (!("body" in obj)) throw new S3Error(412, "PreconditionFailed", "The object changed while it was being read");
    body = obj.body;
  }
  const headers = objectHeaders(meta, req.params);
  headers.set("Content-Length", String(end - start));
  if (resolved) headers.set("Content-Range", `bytes ${start}-${end - 1}/${size}`);
  return new Response(body, { status: resolved ? 206 : 200, headers });
}

/** A 304 or 412 response when the request's conditional headers do not hold for the object. */
function checkPreconditions(obj: R2Object, headers: Headers): Response | undefined {
  const failed = preconditionStatus(obj, headers);
  if (failed === 304) return new Response(null, { status: 304, headers: { ETag: obj.httpEtag, "Last-Modified": obj.uploaded.toUTCString() } });
  if (failed === 412) throw new S3Error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", { Condition: "If-Match" });
  return undefined;
}

/** Clamps a requested range to an object of `size` (> 0) bytes; throws 416 when it cannot be served. */
function resolveRange(range: ByteRange, size: number): ByteRange {
  if ("suffix" in range) {
    if (range.suffix === 0) throw invalidRange(size);
    return { suffix: Math.min(range.suffix, size) };
  }
  if (range.offset >= size) throw invalidRange(size);
  return { offset: range.offset, length: Math.min(range.length ?? size - range.offset, size - range.offset) };
}

/** [start, end) of a resolved range within an object of `size` bytes. */
function bounds(range: ByteRange | undefined, size: number): [number, number] {
  if (!range) return [0, size];
  if ("suffix" in range) return [size - range.suffix, size];
  return [range.offset, range.offset + (range.length ?? size - range.offset)];
}

/** 416 InvalidRange with the object's size, as S3 answers. */
function invalidRange(size: number): S3Error {
  return new S3Error(416, "InvalidRange", "The requested range is not satisfiable", { ActualObjectSize: String(size) }, {
    "Content-Range": `bytes */${size}`,
  });
}

/** The HTTP metadata and x-amz-meta-* of an upload request, as R2 stores them. */
export function uploadMetadata(headers: Headers): { httpMetadata: R2HTTPMetadata; customMetadata: Record<string, string> } {
  const httpMetadata: R2HTTPMetadata = {};
  const get = (name: string) => headers.get(name) ?? undefined;
  if (get("content-type")) httpMetadata.contentType = get("content-type");
  // aws-chunked is transfer framing, not a property of the stored object.
  const encoding = get("content-encoding")?.split(",").map((e) => e.trim()).filter((e) => e && e !== "aws-chunked").join(", ");
  if (encoding) httpMetadata.contentEncoding = encoding;
  if (get("content-disposition")) httpMetadata.contentDisposition = get("content-disposition");
  if (get("content-language")) httpMetadata.contentLanguage = get("content-language");
  if (get("cache-control")) httpMetadata.cacheControl = get("cache-control");
  const expires = Date.parse(get("expires") ?? "");
  if (!Number.isNaN(expires)) httpMetadata.cacheExpiry = new Date(expires);
  const customMetadata: Record<string, string> = {};
  for (const [name, value] of headers) {
    if (name.startsWith("x-amz-meta-")) customMetadata[name.slice("x-amz-meta-".length)] = value;
  }
  return { httpMetadata, customMetadata };
}

/** PutObject (and CopyObject when x-amz-copy-source is present). */
export async function putObject(req: S3Request): Promise<Response> {
  const { bucket, key, request } = req;
  if (request.headers.has("x-amz-copy-source")) return copyObject(req);
  const body = await uploadBody(request, req.auth, true);
  const onlyIf = writeConditions(request.headers);
  let obj: R2Object | null;
  try {
    obj = await bucket.put(key, body.value, { ...uploadMetadata(request.headers), ...body.r2Checks, ...(onlyIf ? { onlyIf } : {}) });
  } catch (err) {
    throw body.failure() ?? storeError(err);
  }
  if (!obj) throw new S3Error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
  return new Response(null, { status: 200, headers: { ETag: obj.httpEtag } });
}

/** If-Match / If-None-Match on a write, as R2's onlyIf; undefined when the request has neither. */
function writeConditions(headers: Headers): R2Conditional | undefined {
  const ifMatch = headers.get("if-match");
  const ifNoneMatch = headers.get("if-none-match");
  if (ifMatch === null && ifNoneMatch === null) return undefined;
  const strip = (v: string) => v.trim().replace(/"/g, "");
  return {
    ...(ifMatch !== null ? { etagMatches: strip(ifMatch) } : {}),
    ...(ifNoneMatch !== null ? { etagDoesNotMatch: strip(ifNoneMatch) } : {}),
  };
}

/** Maps an R2 write failure to an S3 error; R2's own digest checks name the algorithm. */
export function storeError(err: unknown): S3Error {
  const message = err instanceof Error ? err.message : String(err);
  if (/SHA-256/i.test(message) && /match/i.test(message)) {
    return new S3Error(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  if (/MD5/i.test(message) && /match/i.test(message)) return new S3Error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.");
  if (/digest|checksum/i.test(message)) return new S3Error(400, "BadDigest", message);
  if (/length/i.test(message)) return new S3Error(400, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.");
  throw err;
}

/** CopyObject: same-bucket copies only, metadata copied unless x-amz-metadata-directive is REPLACE. */
async function copyObject(req: S3Request): Promise<Response> {
  const { bucket, key, request } = req;
  const source = request.headers.get("x-amz-copy-source")!.split("?")[0]!;
  let decoded: string;
  try {
    decoded = decodeURIComponent(source).replace(/^\//, "");
  } catch {
    throw new S3Error(400, "InvalidArgument", "x-amz-copy-source is not valid percent-encoding");
  }
  const slash = decoded.indexOf("/");
  if (slash <= 0 || decoded.slice(0, slash) !== req.bucketName) {
    throw new S3Error(404, "NoSuchBucket", "The specified bucket does not exist", { BucketName: decoded.slice(0, Math.max(slash, 0)) });
  }
  const sourceKey = decoded.slice(slash + 1);
  checkKey(req, sourceKey);
  const src = await bucket.get(sourceKey);
  if (!src) throw noSuchKey(sourceKey);
  const replace = (request.headers.get("x-amz-metadata-directive") ?? "COPY").toUpperCase() === "REPLACE";
  if (!replace && sourceKey === key) {
    throw new S3Error(400, "InvalidRequest", "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata.");
  }
  const metadata = replace ? uploadMetadata(request.headers) : { httpMetadata: src.httpMetadata, customMetadata: src.customMetadata };
  const obj = await bucket.put(key, src.body, metadata);
  return xmlResponse("CopyObjectResult", [
    ["LastModified", isoTime(obj!.uploaded)],
    ["ETag", obj!.httpEtag],
  ]);
}

/** DeleteObject: 204 whether or not the key existed, as S3. */
export async function deleteObject(req: S3Request): Promise<Response> {
  await req.bucket.delete(req.key);
  return new Response(null, { status: 204 });
}
