/**
 * The flush's decoder of a buffered binary frame: a ClientMessage holding a cdc_batch, straight
 * to its events with row images as plain JSON objects, in one walk over the bytes. Equal, value
 * for value and key order for key order, to `fromBinary` followed by `rowToJson`
 * (json-value.ts), which the flush used before; it builds one object per row image instead of a
 * protobuf message per row, per map entry and per value (the flush's largest cost after the
 * Parquet encoder, bench/flush/RESULTS.md). test/unit/protocol/batch-decode.test.ts holds it to
 * that pair on the oracle workloads and on mutated frames.
 *
 * Where protobuf would merge (a message field twice: two cdc_batch fields, a row image or an
 * object/list value repeated, a map entry's value twice), or the bytes are anything but what an
 * encoder writes (wrong wire types, invalid UTF-8), it returns undefined and the caller uses the
 * full decoder: such frames are legal but no encoder writes them, so the rare path may be slow.
 */
import { protoInt64 } from "@bufbuild/protobuf";
import { JsonNumber, type JsonObject, type JsonValue } from "../util/json.js";

/** One event of a buffered batch, row images as JSON (what the flush's CdcChange is built from). */
export interface DecodedEvent {
  sequence: bigint;
  /** Source commit time, epoch ms; 0 when the producer sent none. */
  timestamp: bigint;
  /** The wire Operation number (1 INSERT, 2 UPDATE, 3 DELETE). */
  operation: number;
  table: string;
  rowId: string;
  before: JsonObject | null;
  after: JsonObject | null;
  metadata: JsonObject | null;
}

/** Thrown inside the walk when only the full decoder may decide. */
class NotPlain extends Error {}
const NOT_PLAIN = new NotPlain();

const VARINT = 0;
const BIT64 = 1;
const LEN = 2;
const BIT32 = 5;
const MAX_DEPTH = 100;
const KEY_SLOTS = 256;
const TABLE_SLOT = KEY_SLOTS - 1;
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }); // a leading U+FEFF is text, as in protobuf-es

/** A cursor over one frame (one per frame: a reader per nested message costs more than it reads). */
class Cursor {
  pos = 0;
  lo = 0;
  hi = 0;
  private view: DataView | undefined;
  constructor(readonly buf: Uint8Array) {}

  /** A varint of at most 32 significant bits (tags, lengths, enums). */
  uint32(): number {
    const b = this.buf;
    let x = b[this.pos++]!;
    if (x < 0x80) return x;
    x &= 0x7f;
    for (let shift = 7; shift < 35; shift += 7) {
      const c = b[this.pos++];
      if (c === undefined) throw NOT_PLAIN;
      x |= (c & 0x7f) << shift;
      if (c < 0x80) return x >>> 0;
    }
    // Longer encodings (negative int32 enums) go through the 64-bit reader's rules.
    throw NOT_PLAIN;
  }

  /** A field tag, refused as protobuf refuses it (field number 0, wire type above 5). */
  tag(): number {
    const t = this.uint32();
    if (t >>> 3 === 0 || (t & 7) > 5) throw NOT_PLAIN;
    return t;
  }

  /** A 64-bit varint into lo/hi (two's complement halves). */
  varint64(): void {
    const b = this.buf;
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (; shift < 28; shift += 7) {
      const c = b[this.pos++];
      if (c === undefined) throw NOT_PLAIN;
      lo |= (c & 0x7f) << shift;
      if (c < 0x80) { this.lo = lo; this.hi = 0; return; }
    }
    let c = b[this.pos++];
    if (c === undefined) throw NOT_PLAIN;
    lo |= (c & 0x0f) << 28;
    hi = (c & 0x7f) >> 4;
    if (c >= 0x80) {
      for (shift = 3; shift <= 31; shift += 7) {
        c = b[this.pos++];
        if (c === undefined) throw NOT_PLAIN;
        hi |= (c & 0x7f) << shift;
        if (c < 0x80) break;
      }
      if (c! >= 0x80) throw NOT_PLAIN;
    }
    this.lo = lo;
    this.hi = hi;
  }

  int64(): bigint {
    this.varint64();
    return protoInt64.dec(this.lo, this.hi);
  }

  /** A zig-zag sint64 as rowToJson gives it: a number when safe, else a bigint. */
  sint64Json(): number | bigint {
    this.varint64();
    const s = -(this.lo & 1);
    const lo = ((this.lo >>> 1) | ((this.hi & 1) << 31)) ^ s;
    const hi = (this.hi >>> 1) ^ s;
    const n = hi * 4294967296 + (lo >>> 0);
    return Number.isSafeInteger(n) ? n : protoInt64.dec(lo, hi);
  }

  double(): number {
    this.view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    if (this.pos + 8 > this.buf.length) throw NOT_PLAIN;
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** End of the length-delimited field starting here. */
  end(): number {
    const len = this.uint32();
    const end = this.pos + len;
    if (end > this.buf.length) throw NOT_PLAIN;
    return end;
  }

  string(): string {
    const end = this.end();
    const b = this.buf;
    const start = this.pos;
    this.pos = end;
    for (let i = start; i < end; i++) {
      if (b[i]! > 0x7f || end - start > 4096) {
        try {
          return utf8.decode(b.subarray(start, end));
        } catch {
          throw NOT_PLAIN;
        }
      }
    }
    // ASCII (the common case): no decoder call, which costs more than the copy in workerd.
    return String.fromCharCode.apply(null, b.subarray(start, end) as unknown as number[]);
  }

  /**
   * A string that is likely the same as the one read at `slot` before (column names, table
   * names): compared byte for byte and reused, which saves building the string. A slot only
   * saves work; two kinds of string sharing one costs a rebuild, never a wrong value.
   */
  key(slot: number): string {
    if (slot < 0 || slot >= KEY_SLOTS) return this.string();
    const cached = this.keys[slot];
    const start = this.pos;
    const end = this.end();
    const b = this.buf;
    const from = this.pos;
    const len = end - from;
    if (cached !== undefined && cached.bytes.length === len) {
      const cb = cached.bytes;
      let i = 0;
      while (i < len && cb[i] === b[from + i]) i++;
      if (i === len) {
        this.pos = end;
        return cached.text;
      }
    }
    this.pos = start;
    const text = this.string();
    this.keys[slot] = { bytes: b.slice(from, end), text };
    return text;
  }

  private keys: Array<{ bytes: Uint8Array; text: string } | undefined> = [];

  skip(wire: number): void {
    switch (wire) {
      case VARINT: this.varint64(); return;
      case BIT64: this.pos += 8; break;
      case LEN: this.pos = this.end(); return;
      case BIT32: this.pos += 4; break;
      default: throw NOT_PLAIN; // groups: never written by our encoders
    }
    if (this.pos > this.buf.length) throw NOT_PLAIN;
  }
}

/** Wire types of CdcBatch's fields 1-11 (index = field number). */
const BATCH_WIRE = [-1, VARINT, LEN, LEN, LEN, LEN, VARINT, VARINT, VARINT, VARINT, VARINT, VARINT];

function expect(wire: number, want: number): void {
  if (wire !== want) throw NOT_PLAIN;
}

/** A wire Value ending at `end`, as valueToJson gives it. */
function readValue(r: Cursor, end: number, depth: number): JsonValue {
  if (depth > MAX_DEPTH) throw NOT_PLAIN;
  let v: JsonValue = null;
  let messageCase = 0; // 6 or 7 when the current oneof value is a message (a repeat would merge)
  while (r.pos < end) {
    const tag = r.tag();
    const f = tag >>> 3;
    const w = tag & 7;
    if (f === 6 || f === 7) {
      expect(w, LEN);
      if (messageCase === f) throw NOT_PLAIN;
      messageCase = f;
      const e = r.end();
      v = f === 6 ? readRow(r, e, depth + 1) : readList(r, e, depth + 1);
      continue;
    }
    switch (f) {
      case 1: expect(w, VARINT); r.varint64(); v = null; break;
      case 2: expect(w, VARINT); r.varint64(); v = r.lo !== 0 || r.hi !== 0; break;
      case 3: expect(w, VARINT); v = r.sint64Json(); break;
      case 4: expect(w, BIT64); v = r.double(); break;
      case 5: expect(w, LEN); v = r.string(); break;
      case 8: {
        expect(w, LEN);
        const text = r.string();
        v = /^-?\d+$/.test(text) ? BigInt(text) : new JsonNumber(text);
        break;
      }
      default:
        r.skip(w);
        continue; // an unknown field leaves the oneof as it was
    }
    messageCase = 0;
  }
  if (r.pos !== end) throw NOT_PLAIN;
  return v;
}

function readList(r: Cursor, end: number, depth: number): JsonValue[] {
  const out: JsonValue[] = [];
  while (r.pos < end) {
    const tag = r.tag();
    if (tag >>> 3 === 1) {
      expect(tag & 7, LEN);
      out.push(readValue(r, r.end(), depth + 1));
    } else r.skip(tag & 7);
  }
  if (r.pos !== end) throw NOT_PLAIN;
  return out;
}

/** A wire Row ending at `end`, as rowToJson gives it (a later duplicate key wins, in place). */
function readRow(r: Cursor, end: number, depth: number): JsonObject {
  if (depth > MAX_DEPTH) throw NOT_PLAIN;
  const out: JsonObject = {};
  let ordinal = depth === 0 ? 0 : -1; // top-level column names repeat row after row: cached by position
  while (r.pos < end) {
    const tag = r.tag();
    if (tag >>> 3 !== 1) {
      r.skip(tag & 7);
      continue;
    }
    expect(tag & 7, LEN);
    const entryEnd = r.end();
    let key = "";
    let value: JsonValue = null;
    let seenValue = false;
    while (r.pos < entryEnd) {
      const t = r.tag();
      const f = t >>> 3;
      if (f === 1) {
        expect(t & 7, LEN);
        key = r.key(ordinal);
      } else if (f === 2) {
        expect(t & 7, LEN);
        if (seenValue) throw NOT_PLAIN;
        seenValue = true;
        value = readValue(r, r.end(), depth + 1);
      } else r.skip(t & 7);
    }
    if (r.pos !== entryEnd || key === "__proto__") throw NOT_PLAIN;
    out[key] = value;
    if (ordinal >= 0) ordinal++;
  }
  if (r.pos !== end) throw NOT_PLAIN;
  return out;
}

function readEvent(r: Cursor, end: number): DecodedEvent {
  const e: DecodedEvent = { sequence: 0n, timestamp: 0n, operation: 0, table: "", rowId: "", before: null, after: null, metadata: null };
  let seen = 0;
  while (r.pos < end) {
    const tag = r.tag();
    const f = tag >>> 3;
    const w = tag & 7;
    switch (f) {
      case 1: expect(w, VARINT); e.sequence = r.int64(); break;
      case 2: expect(w, VARINT); e.timestamp = r.int64(); break;
      case 3: expect(w, VARINT); r.varint64(); e.operation = r.lo | 0; break;
      case 4: expect(w, LEN); e.table = r.key(TABLE_SLOT); break;
      case 5: expect(w, LEN); e.rowId = r.string(); break;
      case 6:
      case 7:
      case 8: {
        expect(w, LEN);
        if (seen & (1 << f)) throw NOT_PLAIN; // protobuf merges a repeated message field
        seen |= 1 << f;
        const row = readRow(r, r.end(), 0);
        if (f === 6) e.before = row;
        else if (f === 7) e.after = row;
        else e.metadata = row;
        break;
      }
      default: r.skip(w);
    }
  }
  if (r.pos !== end) throw NOT_PLAIN;
  return e;
}

/**
 * The events of a binary ClientMessage frame holding one cdc_batch, or undefined when the frame
 * needs the full decoder (see the module comment). Throws nothing for bytes the full decoder
 * would read: those return undefined too.
 */
export function decodeBinaryBatch(frame: Uint8Array): DecodedEvent[] | undefined {
  const r = new Cursor(frame);
  try {
    let start = -1;
    let end = -1;
    while (r.pos < frame.length) {
      const tag = r.tag();
      const f = tag >>> 3;
      if (f >= 1 && f <= 5) {
        if (f !== 2 || start >= 0) return undefined; // another message, or a merge
        expect(tag & 7, LEN);
        end = r.end();
        start = r.pos;
        r.pos = end;
      } else r.skip(tag & 7);
    }
    if (start < 0 || r.pos !== frame.length) return undefined;
    r.pos = start;
    const events: DecodedEvent[] = [];
    while (r.pos < end) {
      const tag = r.tag();
      const f = tag >>> 3;
      if (f <= 11) expect(tag & 7, BATCH_WIRE[f]!);
      if (f === 5) events.push(readEvent(r, r.end()));
      else if (f >= 2 && f <= 4) r.string(); // the batch's text fields: UTF-8 checked as fromBinary does
      else r.skip(tag & 7);
    }
    if (r.pos !== end) return undefined;
    return events;
  } catch (e) {
    if (e === NOT_PLAIN || e instanceof RangeError) return undefined;
    throw e;
  }
}
