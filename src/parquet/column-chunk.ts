/**
 * Encodes one column of one row group straight from row values into Parquet pages, in one pass:
 * the type check, Iceberg's statistics (null/NaN counts, min/max in Iceberg order) and the
 * encoding happen while walking the values once, into typed arrays rather than per-value
 * objects. Handles the primitive kinds DoLake's CDC tables carry (boolean, int, date, long,
 * time, timestamp[tz], float, double, string); `supportsFastColumn` says which, and the caller
 * falls back to hyparquet-writer for the others (binary, uuid, fixed, decimal).
 *
 * Layout (Parquet format, "Data Pages" and "Encodings"): one optional dictionary page (PLAIN) and
 * one DATA_PAGE_V2 per chunk; definition levels RLE/bit-packed hybrid (bit width 1, uncompressed
 * as v2 requires); values PLAIN (booleans bit-packed: Spark's vectorized reader refuses RLE
 * booleans), or RLE_DICTIONARY for strings with few distinct values.
 */
import { ByteWriter } from "hyparquet-writer";
import { writePageHeader } from "hyparquet-writer/src/datapage.js";
import { writeRleBitPackedHybrid } from "hyparquet-writer/src/encoding.js";
import type { ColumnMetaData, Encoding } from "hyparquet";
import type { NestedField } from "../iceberg/metadata/types.js";
import { comparePrimitive, type Primitive, type PrimitiveValue } from "../iceberg/primitive.js";
import { ColumnBlock } from "./column-block.js";

/** A row: column name -> value (see src/iceberg/primitive.ts for the JS shape of each type). */
export type Row = Record<string, PrimitiveValue | null | undefined>;

/** Running statistics of one column across the row groups of a file. */
export interface ColumnStats {
  field: NestedField;
  p: Primitive;
  nulls: bigint;
  nans: bigint;
  min: PrimitiveValue | undefined;
  max: PrimitiveValue | undefined;
}

/** One encoded column chunk: its bytes (pages with headers) and the footer's metadata for it. */
export interface EncodedChunk {
  bytes: Uint8Array[];
  byteLength: number;
  uncompressedSize: number;
  numValues: number;
  encodings: Encoding[];
  hasDictionary: boolean;
  /** Offset of the data page inside the chunk (the dictionary page comes first). */
  dataPageOffset: number;
  statistics: ColumnMetaData["statistics"];
}

const FAST = new Set(["boolean", "int", "date", "long", "time", "timestamp", "timestamptz", "float", "double", "string"]);

/** True if this column kind is encoded here (the others go through hyparquet-writer). */
export function supportsFastColumn(p: Primitive): boolean {
  return FAST.has(p.kind);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** At most this many distinct strings per chunk are dictionary-encoded. */
const MAX_DICTIONARY = 1 << 15;

/** Encodes rows[start, end) of one column; updates `s` (the file's statistics for it). */
export function encodeColumnChunk(s: ColumnStats, rows: readonly Row[] | ColumnBlock, start: number, end: number, compress: (b: Uint8Array) => Uint8Array): EncodedChunk {
  const pages = encodeColumnPages(s, rows, start, end, compress);
  for (;;) {
    const step = pages.next();
    if (step.done) return step.value;
  }
}

/**
 * encodeColumnChunk, yielding the uncompressed bytes of each data page once it is compressed: a
 * caller can pause between pages (src/parquet/writer.ts writeParquetPaced). PLAIN strings are cut
 * into pages of about PAGE_BYTES (256 KiB); other values are one page.
 */
export function* encodeColumnPages(s: ColumnStats, rows: readonly Row[] | ColumnBlock, start: number, end: number, compress: (b: Uint8Array) => Uint8Array): Generator<number, EncodedChunk> {
  const { field, p } = s;
  const n = end - start;
  const name = field.name;
  const defs = field.required ? null : new Uint8Array(n);
  let present = 0;
  const values: PrimitiveValue[] = new Array(n);
  // Row of each present value (page boundaries are cut at values, pages hold whole rows).
  const rowOf = new Int32Array(n);
  const column = rows instanceof ColumnBlock ? rows.column(name) : undefined;
  for (let i = 0; i < n; i++) {
    const v = column ? column[start + i] : (rows as readonly Row[])[start + i]![name];
    if (v === null || v === undefined) {
      if (field.required) throw new TypeError(`column ${name} is required but row ${start + i} has no value`);
      continue;
    }
    if (defs) defs[i] = 1;
    rowOf[present] = i;
    values[present++] = v;
  }
  values.length = present;
  const nulls = n - present;
  s.nulls += BigInt(nulls);

  let page: Uint8Array;
  // PLAIN string pages: the values of page k end at valueEnds[k] (one page unless cut).
  let valueEnds: number[] | undefined;
  let dictionary: Uint8Array | null = null;
  let dictionaryCount = 0;
  let encoding: Encoding = "PLAIN";
  let chunkMin: PrimitiveValue | undefined;
  let chunkMax: PrimitiveValue | undefined;
  // Parquet's own bounds differ from Iceberg's only for zeros (below); Iceberg keeps -0 < +0.
  let parquetMin: PrimitiveValue | undefined;
  let parquetMax: PrimitiveValue | undefined;
  switch (p.kind) {
    case "boolean": {
      page = new Uint8Array((present + 7) >> 3);
      let seenFalse = false;
      let seenTrue = false;
      for (let i = 0; i < present; i++) {
        const v = values[i];
        if (typeof v !== "boolean") throw typeError(name, p, v);
        if (v) { page[i >> 3]! |= 1 << (i & 7); seenTrue = true; } else seenFalse = true;
      }
      if (present) { chunkMin = !seenFalse; chunkMax = seenTrue; }
      break;
    }
    case "int":
    case "date": {
      const out = new Int32Array(present);
      let min = Infinity;
      let max = -Infinity;
      for (let i = 0; i < present; i++) {
        const v = values[i];
        if (typeof v !== "number" || !Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw typeError(name, p, v);
        out[i] = v;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      if (present) { chunkMin = min; chunkMax = max; }
      page = new Uint8Array(out.buffer);
      break;
    }
    case "long":
    case "time":
    case "timestamp":
    case "timestamptz": {
      const out = new BigInt64Array(present);
      let min: bigint | undefined;
      let max: bigint | undefined;
      for (let i = 0; i < present; i++) {
        const v = values[i];
        if (typeof v !== "bigint" || v < INT64_MIN || v > INT64_MAX) throw typeError(name, p, v);
        out[i] = v;
        if (min === undefined || v < min) min = v;
        if (max === undefined || v > max) max = v;
      }
      chunkMin = min;
      chunkMax = max;
      page = new Uint8Array(out.buffer);
      break;
    }
    case "float":
    case "double": {
      const out = p.kind === "float" ? new Float32Array(present) : new Float64Array(present);
      let min: number | undefined;
      let max: number | undefined;
      let nans = 0;
      for (let i = 0; i < present; i++) {
        const v = values[i];
        if (typeof v !== "number") throw typeError(name, p, v);
        out[i] = v;
        if (v !== v) { nans++; continue; }
        if (min === undefined || v < min || (v === min && Object.is(v, -0))) min = v;
        if (max === undefined || v > max || (v === max && Object.is(max, -0))) max = v;
      }
      s.nans += BigInt(nans);
      chunkMin = min;
      chunkMax = max;
      // parquet.thrift, Statistics: a zero min is written as -0.0 and a zero max as +0.0, so a reader
      // that prunes by them never drops a row group holding the other zero.
      if (min !== undefined) { parquetMin = min === 0 ? -0 : min; parquetMax = max === 0 ? 0 : max; }
      page = new Uint8Array(out.buffer);
      break;
    }
    case "string": {
      const enc = encodeStrings(name, p, values);
      page = enc.page;
      dictionary = enc.dictionary;
      dictionaryCount = enc.dictionaryCount;
      if (dictionary) encoding = "RLE_DICTIONARY";
      else valueEnds = plainPageEnds(page);
      chunkMin = enc.min;
      chunkMax = enc.max;
      break;
    }
    default:
      throw new TypeError(`column ${name}: ${p.kind} is not encoded by the fast column writer`);
  }
  if (parquetMin === undefined) { parquetMin = chunkMin; parquetMax = chunkMax; }
  if (chunkMin !== undefined && (s.min === undefined || comparePrimitive(p, chunkMin, s.min) < 0)) s.min = chunkMin;
  if (chunkMax !== undefined && (s.max === undefined || comparePrimitive(p, chunkMax, s.max) > 0)) s.max = chunkMax;

  const bytes: Uint8Array[] = [];
  let byteLength = 0;
  let uncompressedSize = 0;
  const encodings: Encoding[] = [];
  if (dictionary) {
    const compressed = compress(dictionary);
    const header = new ByteWriter();
    writePageHeader(header, {
      type: "DICTIONARY_PAGE",
      uncompressed_page_size: dictionary.length,
      compressed_page_size: compressed.length,
      dictionary_page_header: { num_values: dictionaryCount, encoding: "PLAIN" },
    });
    const h = header.getBytes();
    bytes.push(h, compressed);
    byteLength += h.length + compressed.length;
    uncompressedSize += h.length + dictionary.length;
    encodings.push("PLAIN");
  }
  const dataPageOffset = byteLength;
  const ends = valueEnds ?? [present];
  let rowFrom = 0;
  let valueFrom = 0;
  let byteFrom = 0;
  for (let k = 0; k < ends.length; k++) {
    const valueTo = ends[k]!;
    // A page ends after the row of its last value; the last page takes the rows left (trailing nulls).
    const rowTo = k === ends.length - 1 ? n : rowOf[valueTo - 1]! + 1;
    const byteTo = valueEnds ? plainBytesEnd(page, byteFrom, valueTo - valueFrom) : page.length;
    const pageBytes = page.subarray(byteFrom, byteTo);
    const rowsIn = rowTo - rowFrom;
    let levels: Uint8Array = new Uint8Array(0);
    if (defs) {
      const w = new ByteWriter();
      writeRleBitPackedHybrid(w, defs.subarray(rowFrom, rowTo), 1);
      levels = w.getBytes();
    }
    const compressed = compress(pageBytes);
    const header = new ByteWriter();
    writePageHeader(header, {
      type: "DATA_PAGE_V2",
      uncompressed_page_size: levels.length + pageBytes.length,
      compressed_page_size: levels.length + compressed.length,
      data_page_header_v2: {
        num_values: rowsIn, num_nulls: rowsIn - (valueTo - valueFrom), num_rows: rowsIn, encoding,
        definition_levels_byte_length: levels.length, repetition_levels_byte_length: 0, is_compressed: true,
      },
    });
    const h = header.getBytes();
    bytes.push(h, levels, compressed);
    byteLength += h.length + levels.length + compressed.length;
    uncompressedSize += h.length + levels.length + pageBytes.length;
    rowFrom = rowTo;
    valueFrom = valueTo;
    byteFrom = byteTo;
    yield pageBytes.length;
  }
  encodings.push(encoding);
  return {
    bytes, byteLength, uncompressedSize, numValues: n, encodings, hasDictionary: dictionary !== null, dataPageOffset,
    statistics: { null_count: BigInt(nulls), ...(parquetMin !== undefined ? { min_value: parquetMin as never, max_value: parquetMax as never } : {}) },
  };
}

/**
 * Uncompressed bytes of values per PLAIN string page. parquet-mr's default is 1 MiB; a page is
 * one synchronous stretch of the object's encode and snappy (12-16 ms at 1 MiB in workerd,
 * bench/compaction/RESULTS.md), which acks wait behind, so pages are a quarter of that.
 */
const PAGE_BYTES = 256 * 1024;

/** Where PLAIN string pages end (value counts, cumulative): a page is cut once it holds PAGE_BYTES. */
function plainPageEnds(plain: Uint8Array): number[] {
  const ends: number[] = [];
  let pos = 0;
  let pageStart = 0;
  let count = 0;
  while (pos < plain.length) {
    pos += 4 + (plain[pos]! | (plain[pos + 1]! << 8) | (plain[pos + 2]! << 16) | (plain[pos + 3]! << 24));
    count++;
    if (pos - pageStart >= PAGE_BYTES && pos < plain.length) {
      ends.push(count);
      pageStart = pos;
    }
  }
  ends.push(count);
  return ends;
}

/** The byte offset after `count` length-prefixed values starting at `from`. */
function plainBytesEnd(plain: Uint8Array, from: number, count: number): number {
  let pos = from;
  for (let i = 0; i < count; i++) pos += 4 + (plain[pos]! | (plain[pos + 1]! << 8) | (plain[pos + 2]! << 16) | (plain[pos + 3]! << 24));
  return pos;
}

function typeError(name: string, p: Primitive, v: unknown): TypeError {
  return new TypeError(`column ${name} (${p.kind}) cannot hold ${typeof v} ${String(v).slice(0, 40)}`);
}

/** UTF-8 bytes of strings, PLAIN (length-prefixed) or as a dictionary plus RLE indexes. */
function encodeStrings(name: string, p: Primitive, values: PrimitiveValue[]): { page: Uint8Array; dictionary: Uint8Array | null; dictionaryCount: number; min?: string; max?: string } {
  const n = values.length;
  // Distinct values first: few distinct -> dictionary (and min/max over the distinct ones only).
  const ids = new Map<string, number>();
  const indexes = new Int32Array(n);
  let dictionaryOk = n > 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (typeof v !== "string") throw typeError(name, p, v);
    if (!dictionaryOk) continue;
    let id = ids.get(v);
    if (id === undefined) {
      id = ids.size;
      if (id >= MAX_DICTIONARY || (i >= 1024 && id > i >>> 1)) { dictionaryOk = false; continue; }
      ids.set(v, id);
    }
    indexes[i] = id;
  }
  const distinct: string[] = dictionaryOk ? [...ids.keys()] : (values as string[]);
  let min: string | undefined;
  let max: string | undefined;
  let codeUnitOrderOk = true;
  for (const v of distinct) {
    if (min === undefined) { min = v; max = v; }
    else if (v < min) min = v;
    else if (v > max!) max = v;
  }
  const plain = writePlainStrings(distinct, (cu) => { if (cu >= 0xd800) codeUnitOrderOk = false; });
  // UTF-16 code unit order equals code point (= UTF-8 byte) order below U+D800; above, recompute.
  if (!codeUnitOrderOk) {
    min = max = undefined;
    for (const v of distinct) {
      if (min === undefined || comparePrimitive(p, v, min) < 0) min = v;
      if (max === undefined || comparePrimitive(p, v, max) > 0) max = v;
    }
  }
  if (!dictionaryOk) return { page: plain, dictionary: null, dictionaryCount: 0, min, max };
  const bitWidth = Math.max(1, 32 - Math.clz32(Math.max(0, distinct.length - 1)));
  const w = new ByteWriter();
  w.appendUint8(bitWidth);
  writeRleBitPackedHybrid(w, indexes, bitWidth);
  return { page: w.getBytes(), dictionary: plain, dictionaryCount: distinct.length, min, max };
}

const utf8 = new TextEncoder();

/**
 * Strings longer than this go to TextEncoder.encodeInto whole (~3-5x faster than the byte loop for
 * the changelog's ~230-character JSON text in Node, bench/flush/RESULTS.md); shorter ones are
 * copied unit by unit, where a native call per value costs more than it saves.
 */
const ENCODE_INTO_MIN_LENGTH = 32;

/** Writes a short string's UTF-8 bytes at `pos` (ASCII unit by unit); returns the end. */
function writeShortString(v: string, out: Uint8Array, pos: number, onHighUnit: (cu: number) => void): number {
  const len = v.length;
  let i = 0;
  for (; i < len; i++) {
    const c = v.charCodeAt(i);
    if (c >= 0x80) break;
    out[pos++] = c;
  }
  if (i < len) {
    for (let k = i; k < len; k++) if (v.charCodeAt(k) >= 0xd800) { onHighUnit(v.charCodeAt(k)); break; }
    pos += utf8.encodeInto(v.slice(i), out.subarray(pos)).written;
  }
  return pos;
}

/** PLAIN BYTE_ARRAY: a 4-byte little-endian length, then the UTF-8 bytes, per value. */
function writePlainStrings(values: readonly string[], onHighUnit: (cu: number) => void): Uint8Array {
  let cap = 0;
  for (const v of values) cap += 4 + v.length * 3;
  const out = new Uint8Array(cap);
  let pos = 0;
  for (const v of values) {
    const lenAt = pos;
    pos += 4;
    const len = v.length;
    if (len > ENCODE_INTO_MIN_LENGTH) {
      const written = utf8.encodeInto(v, out.subarray(pos)).written;
      // As many bytes as units: all ASCII. Otherwise look for units at or above U+D800.
      if (written !== len) for (let k = 0; k < len; k++) if (v.charCodeAt(k) >= 0xd800) { onHighUnit(v.charCodeAt(k)); break; }
      pos += written;
    } else {
      pos = writeShortString(v, out, pos, onHighUnit);
    }
    const size = pos - lenAt - 4;
    out[lenAt] = size & 0xff;
    out[lenAt + 1] = (size >>> 8) & 0xff;
    out[lenAt + 2] = (size >>> 16) & 0xff;
    out[lenAt + 3] = (size >>> 24) & 0xff;
  }
  return out.subarray(0, pos);
}
