/**
 * Reads what ingest needs from a binary frame without decoding it: the byte size of each event of
 * a cdc_batch, straight from the length prefixes (re-encoding every event to measure it cost more
 * than the rest of the ingest path for large frames; bench/ingest/RESULTS.md).
 */
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";

const CLIENT_CDC_BATCH = 2; // ClientMessage.cdc_batch
const BATCH_EVENTS = 5; // CdcBatch.events

/** Sizes in bytes of the events of the cdc_batch in a ClientMessage frame (empty when there is none). */
export function binaryEventSizes(frame: Uint8Array): number[] {
  const sizes: number[] = [];
  const outer = new BinaryReader(frame);
  while (outer.pos < outer.len) {
    const [field, wireType] = outer.tag();
    if (field === CLIENT_CDC_BATCH && wireType === WireType.LengthDelimited) {
      const batch = new BinaryReader(outer.bytes());
      while (batch.pos < batch.len) {
        const [f, w] = batch.tag();
        if (f === BATCH_EVENTS && w === WireType.LengthDelimited) {
          const len = batch.uint32();
          sizes.push(len);
          batch.pos += len;
        } else batch.skip(w, f);
      }
    } else outer.skip(wireType, field);
  }
  return sizes;
}

/** A row image left in wire form: the Row message's bytes. */
export type RowBytes = Uint8Array;

/** A skimmed row image: its bytes and its columns' value kinds. */
export interface SkimRow {
  bytes: RowBytes;
  columns: Array<[string, SkimValue]>;
}

/** One event of a skimmed batch: the fields ingest checks, row images as bytes. */
export interface SkimEvent {
  sequence: bigint;
  timestamp: bigint;
  operation: number;
  table: string;
  rowId: string;
  before?: SkimRow;
  after?: SkimRow;
  /** Encoded size of the event. */
  size: number;
}

/** A cdc_batch read without materialising its rows. */
export interface SkimBatch {
  timestamp: bigint;
  correlationId: string;
  sourceDoId: string;
  sourceShardName: string;
  events: SkimEvent[];
  sequenceNumber: bigint;
  firstEventSequence: bigint;
  lastEventSequence: bigint;
  isRetry: boolean;
  retryCount: number;
}

/** The kind of a wire Value and, for scalars, its value (what the schema guard needs). */
export type SkimValue =
  | { case: undefined }
  | { case: "nullValue" }
  | { case: "boolValue"; value: boolean }
  | { case: "intValue"; value: bigint }
  | { case: "doubleValue"; value: number }
  | { case: "stringValue"; value: string }
  | { case: "numberText"; value: string }
  | { case: "objectValue" }
  | { case: "listValue" };

const MAX_DEPTH = 64;

/** Thrown for bytes that are not a well-formed message of the expected type. */
export class SkimError extends Error {}

/** Bytes protobuf would merge (a message field twice): left to the full decoder. */
class NeedsFullDecode extends Error {}

function expectWire(w: WireType, want: WireType, what: string): void {
  if (w !== want) throw new SkimError(`${what}: wire type ${w}, expected ${want}`);
}

/** A string field, UTF-8 checked as fromBinary checks proto3 strings (ASCII needs no decoder call). */
function str(r: BinaryReader, what: string): string {
  try {
    return r.string(true);
  } catch {
    throw new SkimError(`${what}: invalid UTF-8`);
  }
}

/** Reads a length prefix and returns where the length-delimited field ends. */
function endOf(r: BinaryReader): number {
  const len = r.uint32();
  const end = r.pos + len;
  if (end > r.len) throw new SkimError("premature end of a length-delimited field");
  return end;
}

/**
 * Walks a Value ending at `end` (checking every nested byte) and returns its kind. One reader walks
 * the whole frame: a reader per nested message cost more than decoding it (workerd, DataViews).
 */
function readValue(r: BinaryReader, end: number, depth: number): SkimValue {
  if (depth > MAX_DEPTH) throw new SkimError("value nested too deeply");
  let v: SkimValue = { case: undefined };
  while (r.pos < end) {
    const [f, w] = r.tag();
    switch (f) {
      case 1:
        expectWire(w, WireType.Varint, "Value.null_value");
        r.int32();
        v = NULL;
        break;
      case 2:
        expectWire(w, WireType.Varint, "Value.bool_value");
        v = { case: "boolValue", value: r.bool() };
        break;
      case 3:
        expectWire(w, WireType.Varint, "Value.int_value");
        v = { case: "intValue", value: r.sint64() as bigint };
        break;
      case 4:
        expectWire(w, WireType.Bit64, "Value.double_value");
        v = { case: "doubleValue", value: r.double() };
        break;
      case 5:
        expectWire(w, WireType.LengthDelimited, "Value.string_value");
        v = { case: "stringValue", value: str(r, "Value.string_value") };
        break;
      case 6:
        expectWire(w, WireType.LengthDelimited, "Value.object_value");
        readRow(r, endOf(r), depth + 1, undefined);
        v = OBJECT;
        break;
      case 7: {
        expectWire(w, WireType.LengthDelimited, "Value.list_value");
        const listEnd = endOf(r);
        while (r.pos < listEnd) {
          const [lf, lw] = r.tag();
          if (lf === 1) {
            expectWire(lw, WireType.LengthDelimited, "ListValue.values");
            readValue(r, endOf(r), depth + 1);
          } else r.skip(lw, lf);
        }
        v = LIST;
        break;
      }
      case 8:
        expectWire(w, WireType.LengthDelimited, "Value.number_text");
        v = { case: "numberText", value: str(r, "Value.number_text") };
        break;
      default:
        r.skip(w, f);
    }
    if (r.pos > end) throw new SkimError("field overruns its message");
  }
  return v;
}

const NULL: SkimValue = { case: "nullValue" };
const OBJECT: SkimValue = { case: "objectValue" };
const LIST: SkimValue = { case: "listValue" };

/** Walks a Row ending at `end`; collects its columns (later duplicates win, as in protobuf) when asked. */
function readRow(r: BinaryReader, end: number, depth: number, columns: Array<[string, SkimValue]> | undefined): void {
  while (r.pos < end) {
    const [f, w] = r.tag();
    if (f !== 1) {
      r.skip(w, f);
      continue;
    }
    expectWire(w, WireType.LengthDelimited, "Row.fields");
    const entryEnd = endOf(r);
    let key = "";
    let value: SkimValue = { case: undefined };
    while (r.pos < entryEnd) {
      const [ef, ew] = r.tag();
      if (ef === 1) {
        expectWire(ew, WireType.LengthDelimited, "Row.fields.key");
        key = str(r, "Row.fields.key");
      } else if (ef === 2) {
        expectWire(ew, WireType.LengthDelimited, "Row.fields.value");
        value = readValue(r, endOf(r), depth + 1);
      } else r.skip(ew, ef);
    }
    if (r.pos !== entryEnd) throw new SkimError("map entry overruns its length");
    columns?.push([key, value]);
  }
  if (r.pos !== end) throw new SkimError("row overruns its length");
}

/** Calls `fn(column, value)` for each map entry of a Row's bytes. */
export function forEachColumn(row: RowBytes, depth: number, fn: (column: string, value: SkimValue) => void): void {
  const columns: Array<[string, SkimValue]> = [];
  const r = new BinaryReader(row);
  readRow(r, row.byteLength, depth, columns);
  for (const [c, v] of columns) fn(c, v);
}

function readEvent(r: BinaryReader, end: number, frame: Uint8Array): SkimEvent {
  const e: SkimEvent = { sequence: 0n, timestamp: 0n, operation: 0, table: "", rowId: "", size: 0 };
  const start = r.pos;
  let seenRows = 0;
  while (r.pos < end) {
    const [f, w] = r.tag();
    switch (f) {
      case 1:
        expectWire(w, WireType.Varint, "CdcEvent.sequence");
        e.sequence = r.int64() as bigint;
        break;
      case 2:
        expectWire(w, WireType.Varint, "CdcEvent.timestamp");
        e.timestamp = r.int64() as bigint;
        break;
      case 3:
        expectWire(w, WireType.Varint, "CdcEvent.operation");
        e.operation = r.int32();
        break;
      case 4:
        expectWire(w, WireType.LengthDelimited, "CdcEvent.table");
        e.table = str(r, "CdcEvent.table");
        break;
      case 5:
        expectWire(w, WireType.LengthDelimited, "CdcEvent.row_id");
        e.rowId = str(r, "CdcEvent.row_id");
        break;
      case 6:
      case 7:
      case 8: {
        expectWire(w, WireType.LengthDelimited, "CdcEvent row image");
        const bit = 1 << f;
        if (seenRows & bit) throw new NeedsFullDecode(); // protobuf merges a repeated message field
        seenRows |= bit;
        const rowEnd = endOf(r);
        const rowStart = r.pos;
        // Every byte is checked now, so the flush can decode it; columns kept for the schema guard.
        const columns: Array<[string, SkimValue]> | undefined = f === 8 ? undefined : [];
        readRow(r, rowEnd, 0, columns);
        const image = { bytes: frame.subarray(rowStart, rowEnd), columns: columns ?? [] };
        if (f === 6) e.before = image;
        else if (f === 7) e.after = image;
        break;
      }
      default:
        r.skip(w, f);
    }
    if (r.pos > end) throw new SkimError("field overruns its event");
  }
  e.size = end - start;
  return e;
}

/**
 * Reads a ClientMessage frame that holds a cdc_batch without building its rows (ingest's hot path;
 * the full decode costs 7-11 µs/event, this well under 1). Returns undefined for any other message.
 * Throws SkimError for malformed bytes: it accepts nothing `fromBinary` would refuse, since an acked
 * batch must decode at flush time (test/unit/protocol/skim.test.ts checks this differentially).
 */
export function skimCdcBatchFrame(frame: Uint8Array): SkimBatch | undefined {
  let batchStart = -1;
  let batchEnd = -1;
  const outer = new BinaryReader(frame);
  const outerReader = outer;
  try {
    while (outer.pos < outer.len) {
      const [f, w] = outer.tag();
      if (f >= 1 && f <= 5) {
        if (f !== CLIENT_CDC_BATCH) return undefined; // another message (or several): the full decoder decides
        expectWire(w, WireType.LengthDelimited, "ClientMessage.cdc_batch");
        if (batchStart >= 0) return undefined; // two cdc_batch fields merge: the full decoder does that
        batchEnd = endOf(outer);
        batchStart = outer.pos;
        outer.pos = batchEnd;
      } else outer.skip(w, f);
    }
    if (batchStart < 0) return undefined;
    const b: SkimBatch = {
      timestamp: 0n, correlationId: "", sourceDoId: "", sourceShardName: "", events: [],
      sequenceNumber: 0n, firstEventSequence: 0n, lastEventSequence: 0n, isRetry: false, retryCount: 0,
    };
    const r = outerReader;
    r.pos = batchStart;
    while (r.pos < batchEnd) {
      const [f, w] = r.tag();
      switch (f) {
        case 1: expectWire(w, WireType.Varint, "CdcBatch.timestamp"); b.timestamp = r.int64() as bigint; break;
        case 2: expectWire(w, WireType.LengthDelimited, "CdcBatch.correlation_id"); b.correlationId = str(r, "CdcBatch.correlation_id"); break;
        case 3: expectWire(w, WireType.LengthDelimited, "CdcBatch.source_do_id"); b.sourceDoId = str(r, "CdcBatch.source_do_id"); break;
        case 4: expectWire(w, WireType.LengthDelimited, "CdcBatch.source_shard_name"); b.sourceShardName = str(r, "CdcBatch.source_shard_name"); break;
        case BATCH_EVENTS: expectWire(w, WireType.LengthDelimited, "CdcBatch.events"); b.events.push(readEvent(r, endOf(r), frame)); break;
        case 6: expectWire(w, WireType.Varint, "CdcBatch.sequence_number"); b.sequenceNumber = r.int64() as bigint; break;
        case 7: expectWire(w, WireType.Varint, "CdcBatch.first_event_sequence"); b.firstEventSequence = r.int64() as bigint; break;
        case 8: expectWire(w, WireType.Varint, "CdcBatch.last_event_sequence"); b.lastEventSequence = r.int64() as bigint; break;
        case 9: expectWire(w, WireType.Varint, "CdcBatch.size_bytes"); r.int64(); break;
        case 10: expectWire(w, WireType.Varint, "CdcBatch.is_retry"); b.isRetry = r.bool(); break;
        case 11: expectWire(w, WireType.Varint, "CdcBatch.retry_count"); b.retryCount = r.uint32(); break;
        default: r.skip(w, f);
      }
      if (r.pos > batchEnd) throw new SkimError("field overruns the batch");
    }
    return b;
  } catch (e) {
    if (e instanceof NeedsFullDecode) return undefined;
    if (e instanceof SkimError) throw e;
    throw new SkimError(`malformed protobuf (${(e as Error).message})`);
  }
}
