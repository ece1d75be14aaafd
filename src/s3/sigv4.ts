/**
 * AWS Signature Version 4, the pieces both sides of a signature share: URI encoding, the
 * canonical request, the string to sign and the signing key. Pure functions over Web Crypto,
 * so they run in workerd and in Node alike and can be checked against AWS's published vectors.
 * Spec: https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html and, for
 * S3's differences (no path normalization, single encoding, x-amz-content-sha256),
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 */

/** The only signing algorithm accepted. */
export const ALGORITHM = "AWS4-HMAC-SHA256";

/** Hex SHA-256 of the empty string, the "empty hash" line of chunk signatures. */
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

const encoder = new TextEncoder();

/** Bytes of a string (UTF-8) or the bytes themselves. */
function bytes(data: string | Uint8Array): Uint8Array<ArrayBuffer> {
  if (typeof data === "string") return encoder.encode(data) as Uint8Array<ArrayBuffer>;
  const copy = new Uint8Array(new ArrayBuffer(data.length));
  copy.set(data);
  return copy;
}

/** Lowercase hex of some bytes. */
export function toHex(data: ArrayBuffer | Uint8Array): string {
  const view = data instanceof Uint8Array ? data : new Uint8Array(data);
  let out = "";
  for (const b of view) out += b.toString(16).padStart(2, "0");
  return out;
}

/** Hex SHA-256 of a string (UTF-8) or bytes. */
export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", bytes(data)));
}

/** HMAC-SHA256 of `data` under `key` (raw bytes or a string). */
export async function hmac(key: string | Uint8Array, data: string | Uint8Array): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey("raw", bytes(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, bytes(data)));
}

/**
 * URI-encodes per SigV4: every byte except A-Z a-z 0-9 - . _ ~ becomes %XX (uppercase hex);
 * '/' is kept when `keepSlash` (object key paths) and encoded otherwise (query strings).
 */
export function uriEncode(value: string, keepSlash = false): string {
  let out = "";
  for (const b of encoder.encode(value)) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === "/")) out += c;
    else out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/**
 * Percent-decodes one URI component without turning '+' into a space (S3 clients always send a
 * space as %20, and a '+' in a key is a '+'). Throws URIError on malformed escapes.
 */
export function percentDecode(value: string): string {
  return decodeURIComponent(value);
}

/** Query parameters of a raw query string (without '?'), decoded, in order of appearance. */
export function parseQuery(rawQuery: string): [string, string][] {
  if (rawQuery === "") return [];
  return rawQuery
    .split("&")
    .filter((part) => part !== "")
    .map((part) => {
      const eq = part.indexOf("=");
      return eq < 0 ? [percentDecode(part), ""] : [percentDecode(part.slice(0, eq)), percentDecode(part.slice(eq + 1))];
    });
}

/** The canonical query string: each name and value URI-encoded, sorted by name then value. */
export function canonicalQueryString(params: [string, string][]): string {
  const encoded = params.map(([k, v]) => [uriEncode(k), uriEncode(v)] as const);
  encoded.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return encoded.map(([k, v]) => `${k}=${v}`).join("&");
}

/** S3's canonical URI: the decoded path re-encoded once, segment by segment, '/' kept. */
export function canonicalUri(rawPath: string): string {
  return rawPath
    .split("/")
    .map((segment) => uriEncode(percentDecode(segment)))
    .join("/");
}

/** A header value as it enters the canonical request: trimmed, inner runs of spaces collapsed. */
export function canonicalHeaderValue(value: string): string {
  return value.trim().replace(/\s+/g, " ");
}

/** Everything the canonical request is built from. */
export interface CanonicalInput {
  /** HTTP method, uppercase. */
  method: string;
  /** Already-canonical URI (see canonicalUri). */
  uri: string;
  /** Query parameters, decoded, X-Amz-Signature already removed for presigned URLs. */
  query: [string, string][];
  /** Lowercase header names to sign, in any order. */
  signedHeaders: string[];
  /** Looks up a header value by lowercase name; undefined when absent. */
  header: (name: string) => string | undefined;
  /** The payload hash line: hex SHA-256, UNSIGNED-PAYLOAD or a STREAMING-* token. */
  payloadHash: string;
}

/** Builds the canonical request; throws when a signed header is missing from the request. */
export function canonicalRequest(input: CanonicalInput): string {
  const names = [...input.signedHeaders].sort();
  const headerLines = names.map((name) => {
    const value = input.header(name);
    if (value === undefined) throw new MissingSignedHeader(name);
    return `${name}:${canonicalHeaderValue(value)}\n`;
  });
  return [
    input.method,
    input.uri,
    canonicalQueryString(input.query),
    headerLines.join(""),
    names.join(";"),
    input.payloadHash,
  ].join("\n");
}

/** Thrown when SignedHeaders names a header the request does not carry. */
export class MissingSignedHeader extends Error {
  constructor(readonly header: string) {
    super(`signed header ${header} is missing from the request`);
  }
}

/** The credential scope `<yyyymmdd>/<region>/<service>/aws4_request`. */
export function credentialScope(date: string, region: string, service: string): string {
  return `${date}/${region}/${service}/aws4_request`;
}

/** The string to sign for a request. */
export async function stringToSign(amzDate: string, scope: string, canonical: string): Promise<string> {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${await sha256Hex(canonical)}`;
}

const signingKeys = new Map<string, Uint8Array>();

/** The derived signing key for (secret, date, region, service), cached: it changes once a day. */
export async function signingKey(secret: string, date: string, region: string, service: string): Promise<Uint8Array> {
  const cacheKey = `${await sha256Hex(secret)}/${date}/${region}/${service}`;
  const cached = signingKeys.get(cacheKey);
  if (cached) return cached;
  const kDate = await hmac(`AWS4${secret}`, date);
  const kRegion = await hmac(kDate, region);
  const kService = await hmac(kRegion, service);
  const key = await hmac(kService, "aws4_request");
  if (signingKeys.size > 64) signingKeys.clear();
  signingKeys.set(cacheKey, key);
  return key;
}

/** Hex signature of a string to sign under a derived key. */
export async function signature(key: Uint8Array, toSign: string): Promise<string> {
  return toHex(await hmac(key, toSign));
}

/** Parses an ISO 8601 basic timestamp (20130524T000000Z) to epoch ms; NaN when malformed. */
export function parseAmzDate(value: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return NaN;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
}
