// Test helper: decode Avro container files with avsc (a reader we did not write), longs as bigint.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
/** The avsc module (CommonJS, Node-only: tests only). */
export const avsc = require("avsc") as typeof import("avsc");
// avsc reads longs as JS numbers unless told otherwise: decode them as bigint to compare exactly.
const bigintLong = avsc.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(n);
    return buf;
  },
  fromJSON: BigInt,
  toJSON: Number,
  isValid: (n: unknown) => typeof n === "bigint",
  compare: (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0),
});

/** Decodes an Avro container file with avsc, longs as bigint. */
export async function decodeWithAvsc(bytes: Uint8Array): Promise<{ header: { meta: Record<string, Buffer> }; records: unknown[] }> {
  const records: unknown[] = [];
  let header = { meta: {} as Record<string, Buffer> };
  await new Promise<void>((resolve, reject) => {
    const decoder = new avsc.streams.BlockDecoder({ parseHook: (s: unknown) => avsc.Type.forSchema(s as never, { registry: { long: bigintLong } }) });
    decoder.on("metadata", (_type: unknown, _codec: unknown, h: { meta: Record<string, Buffer> }) => (header = h));
    decoder.on("data", (r: unknown) => records.push(r));
    decoder.on("end", resolve);
    decoder.on("error", reject);
    decoder.end(Buffer.from(bytes));
  });
  return { header, records };
}

