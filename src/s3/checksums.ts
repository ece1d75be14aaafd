/**
 * The flexible checksums S3 clients send with uploads (x-amz-checksum-<algorithm>, as a header or
 * as an aws-chunked trailer), computed incrementally over a streamed body so a mismatch is found
 * before the object is stored. Values are base64 of the big-endian digest, as in
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 */
import { base64Encode } from "@bufbuild/protobuf/wire";

/** The checksum algorithms S3 defines. */
export type ChecksumAlgorithm = "crc32" | "crc32c" | "crc64nvme" | "sha1" | "sha256";

/** An incremental checksum over streamed bytes. */
export interface Checksum {
  /** Which algorithm this is. */
  readonly algorithm: ChecksumAlgorithm;
  /** Adds bytes. */
  update(data: Uint8Array): void;
  /** Base64 of the final digest; call once, after the last update. */
  digest(): Promise<string>;
}

/** The algorithm a header or trailer name (x-amz-checksum-crc32, ...) names, if any. */
export function checksumAlgorithmOf(name: string): ChecksumAlgorithm | undefined {
  const m = /^x-amz-checksum-(crc32|crc32c|crc64nvme|sha1|sha256)$/.exec(name.toLowerCase());
  return m ? (m[1] as ChecksumAlgorithm) : undefined;
}

/** A new incremental checksum for an algorithm. */
export function createChecksum(algorithm: ChecksumAlgorithm): Checksum {
  switch (algorithm) {
    case "crc32":
      return crc32Checksum(algorithm, CRC32_TABLE);
    case "crc32c":
      return crc32Checksum(algorithm, CRC32C_TABLE);
    case "crc64nvme":
      return crc64Checksum();
    case "sha1":
      return digestChecksum(algorithm, "SHA-1");
    case "sha256":
      return digestChecksum(algorithm, "SHA-256");
  }
}

/** Base64 of bytes (the form checksum headers and trailers carry). */
export function toBase64(data: Uint8Array): string {
  return base64Encode(data);
}

/** Table of a reflected 32-bit CRC polynomial. */
function crc32Table(poly: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? poly ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

const CRC32_TABLE = crc32Table(0xedb88320);
const CRC32C_TABLE = crc32Table(0x82f63b78);

/** CRC-32 (IEEE) or CRC-32C (Castagnoli), by table. */
function crc32Checksum(algorithm: ChecksumAlgorithm, table: Uint32Array): Checksum {
  let crc = 0xffffffff;
  return {
    algorithm,
    update(data) {
      for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
    },
    async digest() {
      const v = (crc ^ 0xffffffff) >>> 0;
      return toBase64(new Uint8Array([v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]));
    },
  };
}

// CRC-64/NVME (reflected polynomial 0x9a6c9329ac4bc9b5), kept as two 32-bit halves for speed.
const CRC64_HI = new Uint32Array(256);
const CRC64_LO = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let hi = 0;
  let lo = n;
  for (let k = 0; k < 8; k++) {
    const carry = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi = hi >>> 1;
    if (carry) {
      hi = (hi ^ 0x9a6c9329) >>> 0;
      lo = (lo ^ 0xac4bc9b5) >>> 0;
    }
  }
  CRC64_HI[n] = hi;
  CRC64_LO[n] = lo;
}

/** CRC-64/NVME, the default checksum of recent AWS SDKs for some operations. */
function crc64Checksum(): Checksum {
  let hi = 0xffffffff;
  let lo = 0xffffffff;
  return {
    algorithm: "crc64nvme",
    update(data) {
      for (let i = 0; i < data.length; i++) {
        const idx = (lo ^ data[i]!) & 0xff;
        lo = (((lo >>> 8) | ((hi & 0xff) << 24)) ^ CRC64_LO[idx]!) >>> 0;
        hi = ((hi >>> 8) ^ CRC64_HI[idx]!) >>> 0;
      }
    },
    async digest() {
      const h = (hi ^ 0xffffffff) >>> 0;
      const l = (lo ^ 0xffffffff) >>> 0;
      const out = new Uint8Array(8);
      new DataView(out.buffer).setUint32(0, h);
      new DataView(out.buffer).setUint32(4, l);
      return toBase64(out);
    },
  };
}

/** SHA-1 / SHA-256: workerd's DigestStream when present, else the bytes are kept and hashed at the end. */
function digestChecksum(algorithm: ChecksumAlgorithm, name: "SHA-1" | "SHA-256"): Checksum {
  const DigestStream = (crypto as unknown as { DigestStream?: new (alg: string) => WritableStream<Uint8Array> & { digest: Promise<ArrayBuffer> } }).DigestStream;
  if (DigestStream) {
    const stream = new DigestStream(name);
    const writer = stream.getWriter();
    return {
      algorithm,
      update(data) {
        void writer.write(data);
      },
      async digest() {
        await writer.close();
        return toBase64(new Uint8Array(await stream.digest));
      },
    };
  }
  const parts: Uint8Array[] = [];
  return {
    algorithm,
    update(data) {
      parts.push(data.slice());
    },
    async digest() {
      const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) (all.set(p, at), (at += p.length));
      return toBase64(new Uint8Array(await crypto.subtle.digest(name, all)));
    },
  };
}
