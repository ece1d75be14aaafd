/**
 * Decodes aws-chunked request bodies (x-amz-content-sha256: STREAMING-*), as the Java SDK (Spark,
 * Trino), the AWS CLI and boto3 send them, and verifies them on the way:
 *   - STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]: every chunk signature, chained from the
 *     request signature, and the trailer signature;
 *   - STREAMING-UNSIGNED-PAYLOAD-TRAILER: the framing and the checksum trailer.
 * Verified bytes are passed on with the last chunk held back until the final signature, the
 * decoded length and the trailer checksum have all checked out, so a store fed from this stream
 * never sees a complete body that failed verification.
 * Spec: https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html and sigv4-streaming-trailers.html
 */
import { timingSafeEqual } from "../http/auth.js";
import { type Checksum, checksumAlgorithmOf, createChecksum } from "./checksums.js";
import { EMPTY_SHA256, sha256Hex, signature } from "./sigv4.js";
import type { VerifiedRequest } from "./verify.js";
import { S3Error, accessDenied } from "./xml.js";

/** Largest chunk accepted (clients use 64 KiB to 1 MiB); bounds the memory one request can take. */
export const MAX_CHUNK_BYTES = 16 * 1024 * 1024;
const MAX_LINE_BYTES = 4096;

/** Options of one decode. */
export interface ChunkedOptions {
  /** The verified request (signing key, scope, seed signature, payload mode). */
  auth: VerifiedRequest;
  /** x-amz-decoded-content-length: the exact number of payload bytes. */
  decodedLength: number;
  /** The x-amz-trailer header: the checksum trailer name the body ends with, if any. */
  trailerName?: string;
}

/** A decoding stream and the verification failure that ended it, if one did. */
export interface ChunkedDecoder {
  /** Decoded payload bytes. */
  readable: ReadableStream<Uint8Array>;
  /** Set when verification failed: the S3 error to answer with. */
  failure(): S3Error | undefined;
}

/** Malformed aws-chunked framing: 400 InvalidRequest. */
function malformed(message: string): S3Error {
  return new S3Error(400, "InvalidRequest", `Malformed aws-chunked body: ${message}`);
}

/** Decodes and verifies an aws-chunked body. */
export function decodeAwsChunked(body: ReadableStream<Uint8Array>, options: ChunkedOptions): ChunkedDecoder {
  const { auth } = options;
  if (auth.payload.kind !== "streaming") throw new Error("decodeAwsChunked needs a streaming payload");
  const signed = auth.payload.signed;
  const trailerExpected = auth.payload.trailer;
  const trailerName = options.trailerName?.trim().toLowerCase();
  if (trailerExpected && (!trailerName || !checksumAlgorithmOf(trailerName))) {
    throw new S3Error(400, "InvalidRequest", "x-amz-trailer must name one x-amz-checksum-* trailer");
  }
  const checksum: Checksum | undefined = trailerName ? createChecksum(checksumAlgorithmOf(trailerName)!) : undefined;

  let failure: S3Error | undefined;
  let buf: Uint8Array = new Uint8Array(0);
  let previous = auth.seedSignature;
  let pendingSize = -1; // size of the chunk whose data we are waiting for; -1 = waiting for a header
  let pendingSignature = "";
  let finished = false; // the zero-length chunk's header has been read and verified
  let ended = false; // the empty line that ends the body has been read
  const trailers = new Map<string, string>();
  let total = 0;
  let held: Uint8Array | undefined;

  const fail = (err: S3Error): never => {
    failure = err;
    throw err;
  };

  /** One CRLF-terminated line from the buffer, or undefined if it has not fully arrived. */
  const takeLine = (): string | undefined => {
    for (let i = 0; i + 1 < buf.length; i++) {
      if (buf[i] === 13 && buf[i + 1] === 10) {
        const line = new TextDecoder().decode(buf.subarray(0, i));
        buf = buf.subarray(i + 2);
        return line;
      }
    }
    if (buf.length > MAX_LINE_BYTES) fail(malformed("line too long"));
    return undefined;
  };

  const verifyChunk = async (data: Uint8Array, provided: string): Promise<void> => {
    if (!signed) return;
    const toSign = ["AWS4-HMAC-SHA256-PAYLOAD", auth.amzDate, auth.scope, previous, EMPTY_SHA256, await sha256Hex(data)].join("\n");
    const expected = await signature(auth.key, toSign);
    if (!timingSafeEqual(expected, provided)) {
      fail(new S3Error(403, "SignatureDoesNotMatch", "A chunk signature of the aws-chunked body does not match"));
    }
    previous = expected;
  };

  const parseHeader = (line: string): void => {
    const [sizeHex, ...exts] = line.split(";");
    if (!sizeHex || !/^[0-9a-fA-F]{1,8}$/.test(sizeHex.trim())) fail(malformed(`bad chunk size line "${line.slice(0, 80)}"`));
    pendingSize = parseInt(sizeHex!.trim(), 16);
    if (pendingSize > MAX_CHUNK_BYTES) fail(malformed(`chunk of ${pendingSize} bytes exceeds ${MAX_CHUNK_BYTES}`));
    const sig = exts.map((e) => e.trim()).find((e) => e.startsWith("chunk-signature="));
    pendingSignature = sig ? sig.slice("chunk-signature=".length) : "";
    if (signed && !/^[0-9a-f]{64}$/.test(pendingSignature)) fail(accessDenied("aws-chunked chunk is missing its chunk-signature"));
  };

  /** Reads trailer lines up to the empty line that ends the body; false until it has arrived. */
  const readTrailers = (): boolean => {
    for (let line = takeLine(); line !== undefined; line = takeLine()) {
      if (line === "") return true;
      if (!trailerExpected) fail(malformed("data after the final chunk"));
      const colon = line.indexOf(":");
      if (colon <= 0) fail(malformed("bad trailer line"));
      trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    return false;
  };

  /** Consumes as much of the buffer as has arrived: chunk headers, chunk data, trailers. */
  const step = async (controller: TransformStreamDefaultController<Uint8Array>): Promise<void> => {
    while (!ended) {
      if (finished) {
        // After the zero-length chunk's header: trailer lines (if any), then one empty line.
        ended = readTrailers();
        if (!ended) return;
        break;
      }
      if (pendingSize < 0) {
        const line = takeLine();
        if (line === undefined) return;
        parseHeader(line);
        if (pendingSize === 0) {
          await verifyChunk(new Uint8Array(0), pendingSignature);
          finished = true;
        }
        continue;
      }
      if (buf.length < pendingSize + 2) return;
      if (buf[pendingSize] !== 13 || buf[pendingSize + 1] !== 10) fail(malformed("chunk data is not followed by CRLF"));
      const data = buf.slice(0, pendingSize);
      buf = buf.subarray(pendingSize + 2);
      await verifyChunk(data, pendingSignature);
      total += data.length;
      if (total > options.decodedLength) fail(malformed("more data than x-amz-decoded-content-length"));
      checksum?.update(data);
      if (held) controller.enqueue(held);
      held = data;
      pendingSize = -1;
    }
    if (buf.length > 0) fail(malformed("data after the end of the body"));
  };

  /** At end of input: everything must have arrived and checked out before the held chunk goes on. */
  const finish = async (controller: TransformStreamDefaultController<Uint8Array>): Promise<void> => {
    // Some clients omit the very last CRLF; that is harmless once every chunk has arrived.
    if (!finished || (!ended && buf.length > 0)) fail(new S3Error(400, "IncompleteBody", "The aws-chunked body ended early"));
    if (total !== options.decodedLength) {
      fail(new S3Error(400, "IncompleteBody", `Decoded ${total} bytes, x-amz-decoded-content-length says ${options.decodedLength}`));
    }
    if (trailerExpected) await checkTrailer();
    if (held) controller.enqueue(held);
  };

  const checkTrailer = async (): Promise<void> => {
    const value = trailers.get(trailerName!);
    if (value === undefined) fail(malformed(`missing trailer ${trailerName}`));
    if (signed) {
      const provided = trailers.get("x-amz-trailer-signature");
      if (!provided) fail(accessDenied("aws-chunked body is missing x-amz-trailer-signature"));
      const canonical = `${trailerName}:${value}\n`;
      const toSign = ["AWS4-HMAC-SHA256-TRAILER", auth.amzDate, auth.scope, previous, await sha256Hex(canonical)].join("\n");
      if (!timingSafeEqual(await signature(auth.key, toSign), provided!)) {
        fail(new S3Error(403, "SignatureDoesNotMatch", "The trailer signature of the aws-chunked body does not match"));
      }
    }
    const actual = await checksum!.digest();
    if (actual !== value) {
      fail(new S3Error(400, "BadDigest", `The ${checksum!.algorithm} you specified did not match the calculated checksum.`));
    }
  };

  const transform = new TransformStream<Uint8Array, Uint8Array>({
    async transform(piece, controller) {
      buf = concat(buf, piece);
      await step(controller);
    },
    async flush(controller) {
      await step(controller);
      await finish(controller);
    },
  });
  // Piped by hand so an aborted upload ends here instead of as an unhandled rejection.
  body.pipeTo(transform.writable).catch(() => undefined);
  return { readable: transform.readable, failure: () => failure };
}

/** Two byte arrays joined. */
function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
