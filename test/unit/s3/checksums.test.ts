// The flexible-checksum algorithms against their catalogue check values (CRC RevEng, "123456789")
// and Node's own digests, fed in pieces as a streamed body would be.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type ChecksumAlgorithm, checksumAlgorithmOf, createChecksum } from "../../../src/s3/checksums.js";

const b64 = (hex: string) => Buffer.from(hex, "hex").toString("base64");

async function digestInPieces(algorithm: ChecksumAlgorithm, data: Uint8Array, piece: number): Promise<string> {
  const c = createChecksum(algorithm);
  for (let at = 0; at < data.length; at += piece) c.update(data.subarray(at, at + piece));
  return c.digest();
}

describe("checksums", () => {
  const check = new TextEncoder().encode("123456789");
  it.each([
    ["crc32", "cbf43926"],
    ["crc32c", "e3069283"],
    ["crc64nvme", "ae8b14860a799888"],
  ] as const)("%s check value", async (algorithm, hex) => {
    expect(await digestInPieces(algorithm, check, 4)).toBe(b64(hex));
  });

  it.each(["sha1", "sha256"] as const)("%s matches node:crypto", async (algorithm) => {
    const data = Uint8Array.from({ length: 100_003 }, (_, i) => (i * 7) % 256);
    expect(await digestInPieces(algorithm, data, 4096)).toBe(createHash(algorithm).update(data).digest("base64"));
  });

  it("names algorithms only from x-amz-checksum-* headers", () => {
    expect(checksumAlgorithmOf("x-amz-checksum-crc32")).toBe("crc32");
    expect(checksumAlgorithmOf("X-Amz-Checksum-CRC64NVME")).toBe("crc64nvme");
    expect(checksumAlgorithmOf("x-amz-checksum-mode")).toBeUndefined();
    expect(checksumAlgorithmOf("x-amz-checksum-type")).toBeUndefined();
  });
});
