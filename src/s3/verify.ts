/**
 * Verifies the SigV4 signature of an S3 request, header-signed (Authorization: AWS4-HMAC-SHA256)
 * or presigned (X-Amz-Signature in the query). Every request must pass: the S3 API exposes all
 * table data, so there is no anonymous access. What the signature says about the body (a hash,
 * UNSIGNED-PAYLOAD or an aws-chunked stream) is handed on for the body to be checked against.
 */
import { timingSafeEqual } from "../http/auth.js";
import type { S3KeyPair } from "./credentials.js";
import {
  ALGORITHM,
  MissingSignedHeader,
  canonicalRequest,
  canonicalUri,
  credentialScope,
  parseAmzDate,
  parseQuery,
  signature,
  signingKey,
  stringToSign,
} from "./sigv4.js";
import { S3Error, accessDenied, invalidArgument } from "./xml.js";

/** Largest accepted difference between a request's time and ours (S3's own limit). */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
/** Longest validity of a presigned URL (seven days, as S3). */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

/** What the signature covers of the body. */
export type PayloadMode =
  | { kind: "unsigned" }
  | { kind: "sha256"; hex: string }
  | { kind: "streaming"; signed: boolean; trailer: boolean };

/** A verified request: what later checks (body hash, chunk signatures) need. */
export interface VerifiedRequest {
  /** Access key id that signed it. */
  accessKeyId: string;
  /** Request timestamp, ISO 8601 basic (20240101T000000Z). */
  amzDate: string;
  /** Credential scope the signature was made in. */
  scope: string;
  /** Derived signing key of that scope, for chunk and trailer signatures. */
  key: Uint8Array;
  /** The request signature: the seed of an aws-chunked signature chain. */
  seedSignature: string;
  /** How the body is covered. */
  payload: PayloadMode;
  /** The request's query parameters, decoded, in order (parsed once, here). */
  query: [string, string][];
}

/** Fields common to both ways of signing, parsed from header or query. */
interface SignedParts {
  credential: string;
  signedHeaders: string[];
  signature: string;
  amzDate: string;
  payloadHash: string;
  query: [string, string][];
  presigned: boolean;
}

/** Finds the key pair of an access key id; undefined when the id is unknown. */
export type KeyLookup = (accessKeyId: string) => Promise<S3KeyPair | undefined>;

/**
 * x-amz-* headers SigV4 itself uses: the only ones a request may carry unsigned (header-signed
 * requests sign them anyway). Every other x-amz-* header changes what the request does (copy
 * source, metadata, checksums, tagging, storage class, encryption, ACL, object lock...), so it
 * must be in SignedHeaders, or a presigned URL for one key could be replayed as any copy.
 */
const SIGV4_HEADERS = new Set(["x-amz-date", "x-amz-content-sha256", "x-amz-security-token"]);

/** Verifies a request's signature against the key pair its access key id names (or one given pair); throws S3Error when it fails. */
export async function verifyRequest(request: Request, keysOrLookup: S3KeyPair | KeyLookup, now = Date.now()): Promise<VerifiedRequest> {
  const lookup: KeyLookup =
    typeof keysOrLookup === "function" ? keysOrLookup : async (id) => (timingSafeEqual(id, keysOrLookup.accessKeyId) ? keysOrLookup : undefined);
  const url = new URL(request.url);
  const rawQuery = url.search.startsWith("?") ? url.search.slice(1) : url.search;
  let query: [string, string][];
  try {
    query = parseQuery(rawQuery);
  } catch {
    throw new S3Error(400, "InvalidURI", "Couldn't parse the specified URI.");
  }
  const parts = request.headers.has("authorization") ? fromHeader(request, query) : fromQuery(query);
  if (!parts) throw accessDenied("Anonymous access is not allowed: sign the request with AWS Signature Version 4");

  const [accessKeyId, date, region, service, terminator, ...rest] = parts.credential.split("/");
  if (!accessKeyId || !date || !region || service === undefined || terminator === undefined || rest.length) {
    throw new S3Error(400, "AuthorizationHeaderMalformed", `Malformed Credential: ${parts.credential}`);
  }
  if (service !== "s3" || terminator !== "aws4_request") {
    throw new S3Error(400, "AuthorizationHeaderMalformed", "Credential scope must end in /s3/aws4_request");
  }
  const keys = await lookup(accessKeyId);
  if (!keys) {
    throw new S3Error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", {
      AWSAccessKeyId: accessKeyId,
    });
  }
  const time = parseAmzDate(parts.amzDate);
  if (Number.isNaN(time)) throw accessDenied("X-Amz-Date is missing or not in ISO 8601 basic format");
  if (date !== parts.amzDate.slice(0, 8)) {
    throw new S3Error(400, "AuthorizationHeaderMalformed", "The credential scope date does not match X-Amz-Date");
  }
  checkTime(parts, query, time, now);
  if (!parts.signedHeaders.includes("host")) throw accessDenied("The host header must be signed");
  for (const [name] of request.headers) {
    if (name.startsWith("x-amz-") && !SIGV4_HEADERS.has(name) && !parts.signedHeaders.includes(name)) {
      throw accessDenied(`Header ${name} changes what the request does and must be signed (in SignedHeaders)`);
    }
  }
  checkSessionToken(request, query, keys);

  const header = (name: string): string | undefined => {
    const value = request.headers.get(name);
    if (value !== null) return value;
    return name === "host" ? url.host : undefined;
  };
  let canonical: string;
  try {
    canonical = canonicalRequest({
      method: request.method,
      uri: canonicalUri(url.pathname),
      query: parts.query,
      signedHeaders: parts.signedHeaders,
      header,
      payloadHash: parts.payloadHash,
    });
  } catch (err) {
    if (err instanceof MissingSignedHeader) throw accessDenied(err.message);
    if (err instanceof URIError) throw invalidArgument("Malformed percent-encoding in the request path");
    throw err;
  }
  const scope = credentialScope(date, region, service);
  const toSign = await stringToSign(parts.amzDate, scope, canonical);
  const key = await signingKey(keys.secretAccessKey, date, region, service);
  const expected = await signature(key, toSign);
  if (!timingSafeEqual(expected, parts.signature.toLowerCase())) {
    throw new S3Error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.", {
      AWSAccessKeyId: accessKeyId,
      StringToSign: toSign,
      SignatureProvided: parts.signature,
      CanonicalRequest: canonical,
    });
  }
  return { accessKeyId, amzDate: parts.amzDate, scope, key, seedSignature: expected, payload: payloadMode(parts.payloadHash), query };
}

/** Parses `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`. */
function fromHeader(request: Request, query: [string, string][]): SignedParts {
  const auth = request.headers.get("authorization")!.trim();
  const space = auth.indexOf(" ");
  const algorithm = space < 0 ? auth : auth.slice(0, space);
  if (algorithm !== ALGORITHM) {
    throw new S3Error(400, "InvalidArgument", `Unsupported Authorization type ${algorithm}: only ${ALGORITHM} is accepted`);
  }
  const fields = new Map<string, string>();
  for (const part of auth.slice(space + 1).split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get("Credential");
  const signedHeaders = fields.get("SignedHeaders");
  const sig = fields.get("Signature");
  if (!credential || !signedHeaders || !sig) {
    throw new S3Error(400, "AuthorizationHeaderMalformed", "Authorization needs Credential, SignedHeaders and Signature");
  }
  const payloadHash = request.headers.get("x-amz-content-sha256");
  if (!payloadHash) throw new S3Error(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256");
  const names = signedHeaders.split(";").map((h) => h.trim().toLowerCase());
  // Every x-amz-* header a client sends is covered by the signature, so none can be added in transit.
  for (const [name] of request.headers) {
    if (name.startsWith("x-amz-") && !names.includes(name)) throw accessDenied(`Header ${name} must be signed`);
  }
  const amzDate = request.headers.get("x-amz-date") ?? basicDate(request.headers.get("date"));
  return { credential, signedHeaders: names, signature: sig, amzDate, payloadHash, query, presigned: false };
}

/** Parses a presigned URL's X-Amz-* parameters; undefined when the request is not signed at all. */
function fromQuery(query: [string, string][]): SignedParts | undefined {
  const get = (name: string) => query.find(([k]) => k === name)?.[1];
  const sig = get("X-Amz-Signature");
  if (sig === undefined) return undefined;
  if (get("X-Amz-Algorithm") !== ALGORITHM) throw invalidArgument(`X-Amz-Algorithm must be ${ALGORITHM}`, "X-Amz-Algorithm");
  const credential = get("X-Amz-Credential");
  const signedHeaders = get("X-Amz-SignedHeaders");
  const amzDate = get("X-Amz-Date");
  if (!credential || !signedHeaders || !amzDate || get("X-Amz-Expires") === undefined) {
    throw new S3Error(400, "AuthorizationQueryParametersError", "Presigned URLs need X-Amz-Credential, X-Amz-Date, X-Amz-Expires and X-Amz-SignedHeaders");
  }
  return {
    credential,
    signedHeaders: signedHeaders.split(";").map((h) => h.toLowerCase()),
    signature: sig,
    amzDate,
    payloadHash: get("X-Amz-Content-Sha256") ?? "UNSIGNED-PAYLOAD",
    query: query.filter(([k]) => k !== "X-Amz-Signature"),
    presigned: true,
  };
}

/**
 * A session token (x-amz-security-token header, or X-Amz-Security-Token in a presigned URL) must
 * be the one bound to the signing pair; pairs without one (the admin pair) accept none. The
 * token is optional: a pair's secret alone already proves who signed.
 */
function checkSessionToken(request: Request, query: [string, string][], keys: S3KeyPair): void {
  const sent = request.headers.get("x-amz-security-token") ?? query.find(([k]) => k === "X-Amz-Security-Token")?.[1];
  if (sent === undefined) return;
  if (!keys.sessionToken || !timingSafeEqual(sent, keys.sessionToken)) {
    throw new S3Error(403, "InvalidToken", "The provided token is malformed or otherwise invalid.");
  }
}

/** Rejects requests signed too far from now, and presigned URLs past their expiry. */
function checkTime(parts: SignedParts, query: [string, string][], time: number, now: number): void {
  if (!parts.presigned) {
    if (Math.abs(now - time) > MAX_CLOCK_SKEW_MS) {
      throw new S3Error(403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.", {
        RequestTime: parts.amzDate,
        ServerTime: new Date(now).toISOString(),
      });
    }
    return;
  }
  const raw = query.find(([k]) => k === "X-Amz-Expires")![1];
  const expires = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(expires >= 1 && expires <= MAX_PRESIGN_SECONDS)) {
    throw new S3Error(400, "AuthorizationQueryParametersError", "X-Amz-Expires must be between 1 and 604800 seconds");
  }
  if (time - now > MAX_CLOCK_SKEW_MS) throw accessDenied("Request is not valid yet");
  if (now > time + expires * 1000) throw accessDenied("Request has expired");
}

/** The payload mode a x-amz-content-sha256 value announces; throws for values S3 would reject. */
function payloadMode(value: string): PayloadMode {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return { kind: "sha256", hex: value.toLowerCase() };
  switch (value) {
    case "UNSIGNED-PAYLOAD":
      return { kind: "unsigned" };
    case "STREAMING-AWS4-HMAC-SHA256-PAYLOAD":
      return { kind: "streaming", signed: true, trailer: false };
    case "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER":
      return { kind: "streaming", signed: true, trailer: true };
    case "STREAMING-UNSIGNED-PAYLOAD-TRAILER":
      return { kind: "streaming", signed: false, trailer: true };
    default:
      throw new S3Error(400, "InvalidArgument", `Unsupported x-amz-content-sha256 value: ${value}`);
  }
}

/** An HTTP Date header as ISO 8601 basic; "" when absent or unparseable. */
function basicDate(value: string | null): string {
  if (!value) return "";
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? "" : new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}
