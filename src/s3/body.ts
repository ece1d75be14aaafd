/**
 * Turns an upload request's body into what R2 stores, checked against everything the client
 * vouched for: the signed payload hash, the aws-chunked signature chain, x-amz-checksum-* and
 * Content-MD5. R2 writes are atomic, and the last bytes are released only after every check has
 * passed, so a body that fails verification never becomes (part of) an object.
 */
import { base64Decode } from "@bufbuild/protobuf/wire";
import { type Checksum, checksumAlgorithmOf, createChecksum, toBase64 } from "./checksums.js";
import { decodeAwsChunked } from "./chunked.js";
import type { VerifiedRequest } from "./verify.js";
import { S3Error, invalidArgument } from "./xml.js";

/** Bodies up to this size are read into memory before the write; larger ones are streamed. */
const BUFFER_LIMIT = 1024 * 1024;

/** A body ready for R2, with the checksum options R2 verifies itself. */
export interface UploadBody {
  /** The bytes: a stream of known length, or a buffer. */
  value: ReadableStream<Uint8Array> | ArrayBuffer;
  /** Exact length in bytes. */
  length: number;
  /** Checksums for R2PutOptions (PutObject only; R2 refuses the write on a mismatch). */
  r2Checks: { sha256?: string; md5?: ArrayBuffer };
  /** The verification error that ended the stream, if one did (R2 reports only that it failed). */
  failure(): S3Error | undefined;
}

/** One expected digest of the payload, checked as the bytes stream past. */
interface Expectation {
  checksum: Checksum;
  expected: string;
  error: () => S3Error;
}

/**
 * Prepares an upload body; `r2VerifiesHashes` is true for PutObject (R2 checks sha256/md5 itself).
 * `checksumHeaders` is false where x-amz-checksum-* describes something else than the body
 * (CompleteMultipartUpload: the whole object's checksum).
 */
export async function uploadBody(request: Request, auth: VerifiedRequest, r2VerifiesHashes: boolean, checksumHeaders = true): Promise<UploadBody> {
  const r2Checks: UploadBody["r2Checks"] = {};
  const expectations: Expectation[] = [];
  const md5 = request.headers.get("content-md5");
  if (md5 !== null) {
    const raw = decodeBase64(md5);
    if (!raw || raw.length !== 16) throw new S3Error(400, "InvalidDigest", "The Content-MD5 you specified is not valid.");
    if (r2VerifiesHashes) r2Checks.md5 = raw.buffer as ArrayBuffer;
  }
  for (const [name, value] of checksumHeaders ? request.headers : []) {
    const algorithm = checksumAlgorithmOf(name);
    if (!algorithm) continue;
    expectations.push({
      checksum: createChecksum(algorithm),
      expected: value.trim(),
      error: () => new S3Error(400, "BadDigest", `The ${algorithm} you specified did not match the calculated checksum.`),
    });
  }

  if (auth.payload.kind === "streaming") {
    const lengthHeader = request.headers.get("x-amz-decoded-content-length");
    if (lengthHeader === null || !/^\d+$/.test(lengthHeader)) {
      throw new S3Error(411, "MissingContentLength", "x-amz-decoded-content-length is required for aws-chunked uploads");
    }
    const length = Number(lengthHeader);
    const trailerName = request.headers.get("x-amz-trailer") ?? undefined;
    const decoder = decodeAwsChunked(request.body ?? emptyStream(), { auth, decodedLength: length, trailerName });
    const checked = withExpectations(decoder.readable, expectations);
    return finish(checked.readable, length, r2Checks, () => decoder.failure() ?? checked.failure());
  }

  const lengthHeader = request.headers.get("content-length");
  const length = lengthHeader === null ? (request.body ? NaN : 0) : Number(lengthHeader);
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new S3Error(411, "MissingContentLength", "You must provide the Content-Length HTTP header.");
  }
  if (auth.payload.kind === "sha256") {
    const hex = auth.payload.hex;
    if (r2VerifiesHashes) r2Checks.sha256 = hex;
    else {
      expectations.push({
        checksum: createChecksum("sha256"),
        expected: toBase64(hexBytes(hex)),
        error: () => new S3Error(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed."),
      });
    }
  }
  const checked = withExpectations(request.body ?? emptyStream(), expectations);
  return finish(checked.readable, length, r2Checks, checked.failure);
}

/** Buffers small bodies (so every check completes before the write) and length-tags large ones. */
async function finish(
  readable: ReadableStream<Uint8Array>,
  length: number,
  r2Checks: UploadBody["r2Checks"],
  failure: () => S3Error | undefined,
): Promise<UploadBody> {
  if (length <= BUFFER_LIMIT) {
    let value: ArrayBuffer;
    try {
      value = await new Response(readable).arrayBuffer();
    } catch (err) {
      throw failure() ?? (err instanceof S3Error ? err : new S3Error(400, "IncompleteBody", "The request body could not be read"));
    }
    if (value.byteLength !== length) {
      throw new S3Error(400, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.");
    }
    return { value, length, r2Checks, failure };
  }
  // R2 needs a stream of known length; FixedLengthStream also fails the write on a short body.
  const fixed = new FixedLengthStream(length);
  readable.pipeTo(fixed.writable).catch(() => undefined);
  return { value: fixed.readable, length, r2Checks, failure };
}

/** Passes bytes through, holding the last piece back until every expected digest matched. */
function withExpectations(source: ReadableStream<Uint8Array>, expectations: Expectation[]): { readable: ReadableStream<Uint8Array>; failure: () => S3Error | undefined } {
  if (expectations.length === 0) return { readable: source, failure: () => undefined };
  let failure: S3Error | undefined;
  let held: Uint8Array | undefined;
  const transform = new TransformStream<Uint8Array, Uint8Array>({
    transform(piece, controller) {
      for (const e of expectations) e.checksum.update(piece);
      if (held) controller.enqueue(held);
      held = piece;
    },
    async flush(controller) {
      for (const e of expectations) {
        if ((await e.checksum.digest()) !== e.expected) {
          failure = e.error();
          throw failure;
        }
      }
      if (held) controller.enqueue(held);
    },
  });
  source.pipeTo(transform.writable).catch(() => undefined);
  return { readable: transform.readable, failure: () => failure };
}

/** A stream with no bytes. */
function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (c) => c.close() });
}

/** Bytes of a hex string. */
function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Bytes of a base64 string, or undefined when it is not base64. */
export function decodeBase64(value: string): Uint8Array | undefined {
  try {
    return base64Decode(value.trim());
  } catch {
    return undefined;
  }
}

/** Reads a small request body (XML) and checks it against a signed payload hash (and checksum headers if they cover it). */
export async function smallBody(request: Request, auth: VerifiedRequest, checksumHeaders = true, limit = 2 * 1024 * 1024): Promise<string> {
  const upload = await uploadBody(request, auth, false, checksumHeaders);
  if (upload.length > limit) throw invalidArgument(`Request body exceeds ${limit} bytes`);
  const value = upload.value instanceof ArrayBuffer ? upload.value : await new Response(upload.value).arrayBuffer();
  return new TextDecoder().decode(value);
}
