/**
 * Avro object container files (Avro specification, "Object Container Files"): header with magic
 * `Obj\x01`, the file metadata map (`avro.schema`, `avro.codec`, plus caller keys such as
 * Iceberg's manifest metadata), a 16-byte sync marker, then blocks of records. Codecs: `null`
 * and `deflate` (raw RFC 1951 deflate, via fflate so it is synchronous and runs in workerd).
 */
import { deflateSync, inflateSync } from "fflate";
import { AvroBuffer, AvroCursor } from "./binary.js";
import { compileSchema } from "./codec.js";
import type { AvroSchema, AvroValue } from "./types.js";

/** The compression codecs this writer and reader support. */
export type AvroCodecName = "null" | "deflate";

/** Options for writing an Avro container file. */
export interface AvroWriteOptions {
  /** Block compression; `deflate` by default (what Java writes for manifests). */
  codec?: AvroCodecName;
  /** Extra file metadata (string values, stored as UTF-8 bytes). */
  metadata?: Record<string, string>;
  /** Records per block (default 4096). */
  blockRecords?: number;
  /** 16 sync-marker bytes; random by default (fixed values make output reproducible in tests). */
  syncMarker?: Uint8Array;
}

/** A decoded Avro container file. */
export interface AvroFile {
  /** The writer's schema as parsed from `avro.schema`. */
  schema: AvroSchema;
  /** The file metadata map, decoded as UTF-8 strings (includes `avro.schema` and `avro.codec`). */
  metadata: Record<string, string>;
  /** Every record, in order. */
  records: AvroValue[];
}

const MAGIC = new Uint8Array([0x4f, 0x62, 0x6a, 0x01]);
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** Encodes records as an Avro object container file. */
export function writeAvroFile(schema: AvroSchema, records: Iterable<AvroValue>, options: AvroWriteOptions = {}): Uint8Array {
  const codecName = options.codec ?? "deflate";
  const codec = compileSchema(schema);
  const sync = options.syncMarker ?? crypto.getRandomValues(new Uint8Array(16));
  if (sync.length !== 16) throw new RangeError("avro: sync marker must be 16 bytes");
  const blockRecords = options.blockRecords ?? 4096;

  const out = new AvroBuffer(4096);
  out.writeRaw(MAGIC);
  const meta = new Map<string, Uint8Array>();
  for (const [k, v] of Object.entries(options.metadata ?? {})) {
    if (k.startsWith("avro.")) throw new RangeError(`avro: metadata key ${k} is reserved`);
    meta.set(k, utf8.encode(v));
  }
  meta.set("avro.schema", utf8.encode(JSON.stringify(schema)));
  meta.set("avro.codec", utf8.encode(codecName));
  out.writeLong(meta.size);
  for (const [k, v] of meta) {
    out.writeString(k);
    out.writeBytes(v);
  }
  out.writeLong(0);
  out.writeRaw(sync);

  const block = new AvroBuffer(64 * 1024);
  let count = 0;
  const flush = () => {
    if (count === 0) return;
    const raw = block.peek();
    const data = codecName === "deflate" ? deflateSync(raw) : raw;
    out.writeLong(count);
    out.writeLong(data.length);
    out.writeRaw(data);
    out.writeRaw(sync);
    block.reset();
    count = 0;
  };
  for (const record of records) {
    codec.write(block, record);
    count++;
    if (count >= blockRecords || block.length >= 1 << 20) flush();
  }
  flush();
  return out.toBytes();
}

/** Decodes an Avro object container file written with the `null` or `deflate` codec. */
export function readAvroFile(bytes: Uint8Array): AvroFile {
  const cur = new AvroCursor(bytes);
  const magic = cur.readRaw(4);
  if (!MAGIC.every((b, i) => magic[i] === b)) throw new TypeError("avro: not an object container file");
  const metadata: Record<string, string> = {};
  for (;;) {
    let n = cur.readSmallLong();
    if (n === 0) break;
    if (n < 0) {
      n = -n;
      cur.readLong();
    }
    for (let i = 0; i < n; i++) metadata[cur.readString()] = fromUtf8.decode(cur.readBytes());
  }
  const sync = cur.readRaw(16).slice();
  const schemaText = metadata["avro.schema"];
  if (schemaText === undefined) throw new TypeError("avro: header has no avro.schema");
  const schema = JSON.parse(schemaText) as AvroSchema;
  const codecName = metadata["avro.codec"] ?? "null";
  if (codecName !== "null" && codecName !== "deflate") throw new TypeError(`avro: unsupported codec ${codecName}`);
  const codec = compileSchema(schema);
  const records: AvroValue[] = [];
  while (!cur.atEnd()) {
    const count = cur.readSmallLong();
    const size = cur.readSmallLong();
    const raw = cur.readRaw(size);
    const data = codecName === "deflate" ? inflateSync(raw) : raw;
    const blockCursor = new AvroCursor(data);
    for (let i = 0; i < count; i++) records.push(codec.read(blockCursor));
    if (!blockCursor.atEnd()) throw new TypeError("avro: block has trailing bytes");
    const marker = cur.readRaw(16);
    if (!sync.every((b, i) => marker[i] === b)) throw new TypeError("avro: sync marker mismatch");
  }
  return { schema, metadata, records };
}
