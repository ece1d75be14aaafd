/**
 * Path-style S3 addressing: which requests belong to the S3 API, and the parsed form each
 * operation handler receives. A request is S3 when its first path segment is the bucket name
 * (env.BUCKET_NAME); DoLake's own routes (/health, /ws, /v1, /status, /metrics, /flush) never are.
 */
import type { Env } from "../env.js";
import { toHex } from "./sigv4.js";
import type { VerifiedRequest } from "./verify.js";
import { S3Error } from "./xml.js";

/** Bucket name served when BUCKET_NAME is not set (matches wrangler.jsonc). */
export const DEFAULT_BUCKET_NAME = "dolake-warehouse";

/** Longest key S3 and R2 accept, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

/** Paths that belong to DoLake itself, whatever the bucket is called. */
const RESERVED = new Set(["health", "ws", "v1", "status", "metrics", "flush"]);

/** One S3 request after routing and signature verification. */
export interface S3Request {
  /** The incoming request. */
  request: Request;
  /** The R2 bucket behind the API. */
  bucket: R2Bucket;
  /** The bucket name clients address. */
  bucketName: string;
  /** Object key, decoded; "" for bucket-level requests. */
  key: string;
  /** Query parameters, decoded (first value of each name). */
  params: Map<string, string>;
  /** The verified signature. */
  auth: VerifiedRequest;
  /** The warehouse the signing pair is confined to; undefined for the admin pair. */
  warehouse?: string;
}

/** The bucket name this deployment serves. */
export function bucketName(env: Env): string {
  return env.BUCKET_NAME || DEFAULT_BUCKET_NAME;
}

/** The first path segment of a URL path, undecoded. */
function firstSegment(pathname: string): string {
  const rest = pathname.slice(1);
  const slash = rest.indexOf("/");
  return slash < 0 ? rest : rest.slice(0, slash);
}

/** True when a request is addressed to the S3 API: its first path segment is the bucket name. */
export function isS3Path(pathname: string, env: Env): boolean {
  const first = firstSegment(pathname);
  if (RESERVED.has(first)) return false;
  return first === bucketName(env);
}

/** Splits /<bucket>/<key> into the decoded key; throws S3Error on a malformed or overlong key. */
export function objectKey(pathname: string): string {
  const rest = pathname.slice(1);
  const slash = rest.indexOf("/");
  if (slash < 0) return "";
  let key: string;
  try {
    key = decodeURIComponent(rest.slice(slash + 1));
  } catch {
    throw new S3Error(400, "InvalidURI", "Couldn't parse the specified URI.");
  }
  if (new TextEncoder().encode(key).length > MAX_KEY_BYTES) throw new S3Error(400, "KeyTooLongError", "Your key is too long");
  return key;
}

/** Query parameters as a map of decoded names to decoded values (first wins). */
export function queryParams(pairs: [string, string][]): Map<string, string> {
  const params = new Map<string, string>();
  for (const [k, v] of pairs) if (!params.has(k)) params.set(k, v);
  return params;
}

/** A short random request id for x-amz-request-id and error bodies. */
export function newRequestId(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(8))).toUpperCase();
}

const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Why a key is not a plain, normalized path (undefined when it is): '.' or '..' segments, empty
 * segments (a leading '/' or '//'; a trailing '/' is a directory marker and allowed), control
 * characters (NUL included) and backslashes, all of which some client or path library would read
 * as a different key than R2 stores.
 */
export function keyProblem(key: string): string | undefined {
  if (CONTROL.test(key)) return "control characters are not allowed in keys";
  if (key.includes("\\")) return "backslashes are not allowed in keys";
  const segments = key.split("/");
  if (segments.at(-1) === "") segments.pop();
  if (segments.some((s) => /^(?:\.|%2e){1,2}$/i.test(s))) return "'.' and '..' segments (also as %2e) are not allowed in keys";
  if (segments.some((s) => s === "")) return "empty segments ('//' or a leading '/') are not allowed in keys";
  return undefined;
}

/** Throws unless `key` is a normalized key the request's pair may touch (under `<warehouse>/` for a warehouse pair). */
export function checkKey(req: Pick<S3Request, "warehouse">, key: string): void {
  const problem = keyProblem(key);
  if (problem) throw new S3Error(400, "InvalidArgument", `Invalid key ${JSON.stringify(key)}: ${problem}`, { ArgumentName: "key" });
  if (req.warehouse !== undefined && !key.startsWith(`${req.warehouse}/`)) {
    throw new S3Error(403, "AccessDenied", `These credentials only reach keys under ${req.warehouse}/`);
  }
}

/** Throws unless a listing prefix stays inside the request's warehouse (the admin pair lists anything). */
export function checkPrefix(req: Pick<S3Request, "warehouse">, prefix: string): void {
  if (req.warehouse !== undefined && !prefix.startsWith(`${req.warehouse}/`)) {
    throw new S3Error(403, "AccessDenied", `These credentials only list keys under ${req.warehouse}/ (give prefix=${req.warehouse}/...)`);
  }
}
