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

/** One event of a skimmed batch: the fields ingest checks, row images as bytes. */
export interface SkimEvent {
  sequence: bigint;
  timestamp: bigint;
  operation: number;
  table: string;
  rowId: string;
  before?: RowBytes;
  after?: RowBytes;
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

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const MAX_DEPTH = 64;

/** Thrown for bytes that are not a well-formed message of the expected type. */
export class SkimError extends Error {}

/** Bytes protobuf would merge (a message field twice): left to the full decoder. */
class NeedsFullDecode extends Error {}

function expectWire(w: WireType, want: WireType, what: string): void {
  if (w !== want) throw new SkimError(`${what}: wire type ${w}, expected ${want}`);
}

function str(r: BinaryReader, what: string): string {
  try {
    return strictUtf8.decode(r.bytes());
  } catch {
    throw new SkimError(`${what}: invalid UTF-8`);
  }
}

/** Walks a Value (checking every nested byte) and returns its kind; `depth` bounds nesting. */
function readValue(bytes: Uint8Array, depth: number): SkimValue {
  if (depth > MAX_DEPTH) throw new SkimError("value nested too deeply");
  const r = new BinaryReader(bytes);
  let v: SkimValue = { case: undefined };
  while (r.pos < r.len) {
    const [f, w] = r.tag();
    switch (f) {
      case 1:
        expectWire(w, WireType.Varint, "Value.null_value");
        r.int32();
        v = { case: "nullValue" };
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
        forEachColumn(r.bytes(), depth + 1, () => undefined);
        v = { case: "objectValue" };
        break;
      case 7: {
        expectWire(w, WireType.LengthDelimited, "Value.list_value");
        const list = new BinaryReader(r.bytes());
        while (list.pos < list.len) {
          const [lf, lw] = list.tag();
          if (lf === 1) {
            expectWire(lw, WireType.LengthDelimited, "ListValue.values");
            readValue(list.bytes(), depth + 1);
          } else list.skip(lw, lf);
        }
        v = { case: "listValue" };
        break;
      }
      case 8:
        expectWire(w, WireType.LengthDelimited, "Value.number_text");
        v = { case: "numberText", value: str(r, "Value.number_text") };
        break;
      default:
        r.skip(w, f);
    }
  }
  return v;
}

/** Calls `fn(column, value)` for each map entry of a Row (later duplicates win, as in protobuf). */
export function forEachColumn(row: RowBytes, depth: number, fn: (column: string, value: SkimValue) => void): void {
  const r = new BinaryReader(row);
  while (r.pos < r.len) {
    const [f, w] = r.tag();
    if (f !== 1) {
      r.skip(w, f);
      continue;
    }
    expectWire(w, WireType.LengthDelimited, "Row.fields");
    const entry = new BinaryReader(r.bytes());
    let key = "";
    let value: SkimValue = { case: undefined };
    while (entry.pos < entry.len) {
      const [ef, ew] = entry.tag();
      if (ef === 1) {
        expectWire(ew, WireType.LengthDelimited, "Row.fields.key");
        key = str(entry, "Row.fields.key");
      } else if (ef === 2) {
        expectWire(ew, WireType.LengthDelimited, "Row.fields.value");
        value = readValue(entry.bytes(), depth + 1);
      } else entry.skip(ew, ef);
    }
    fn(key, value);
  }
}

function readEvent(bytes: Uint8Array): SkimEvent {
  const r = new BinaryReader(bytes);
  const e: SkimEvent = { sequence: 0n, timestamp: 0n, operation: 0, table: "", rowId: "", size: bytes.byteLength };
  const seenRows = new Set<number>();
  while (r.pos < r.len) {
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
        if (seenRows.has(f)) throw new NeedsFullDecode(); // protobuf merges a repeated message field
        seenRows.add(f);
        const row = r.bytes();
        forEachColumn(row, 0, () => undefined); // every byte is checked now, so the flush can decode it
        if (f === 6) e.before = row;
        else if (f === 7) e.after = row;
        break;
      }
      default:
        r.skip(w, f);
    }
  }
  return e;
}

/**
 * Reads a ClientMessage frame that holds a cdc_batch without building its rows (ingest's hot path;
 * the full decode costs 7-11 µs/event, this well under 1). Returns undefined for any other message.
 * Throws SkimError for malformed bytes: it accepts nothing `fromBinary` would refuse, since an acked
 * batch must decode at flush time (test/unit/protocol/skim.test.ts checks this differentially).
 */
export function skimCdcBatchFrame(frame: Uint8Array): SkimBatch | undefined {
  let batchBytes: Uint8Array | undefined;
  const outer = new BinaryReader(frame);
  try {
    while (outer.pos < outer.len) {
      const [f, w] = outer.tag();
      if (f >= 1 && f <= 5) {
        if (f !== CLIENT_CDC_BATCH) return undefined; // another message (or several): the full decoder decides
        expectWire(w, WireType.LengthDelimited, "ClientMessage.cdc_batch");
        if (batchBytes) return undefined; // two cdc_batch fields merge: the full decoder does that
        batchBytes = outer.bytes();
      } else outer.skip(w, f);
    }
    if (!batchBytes) return undefined;
    const b: SkimBatch = {
      timestamp: 0n, correlationId: "", sourceDoId: "", sourceShardName: "", events: [],
      sequenceNumber: 0n, firstEventSequence: 0n, lastEventSequence: 0n, isRetry: false, retryCount: 0,
    };
    const r = new BinaryReader(batchBytes);
    while (r.pos < r.len) {
      const [f, w] = r.tag();
      switch (f) {
        case 1: expectWire(w, WireType.Varint, "CdcBatch.timestamp"); b.timestamp = r.int64() as bigint; break;
        case 2: expectWire(w, WireType.LengthDelimited, "CdcBatch.correlation_id"); b.correlationId = str(r, "CdcBatch.correlation_id"); break;
        case 3: expectWire(w, WireType.LengthDelimited, "CdcBatch.source_do_id"); b.sourceDoId = str(r, "CdcBatch.source_do_id"); break;
        case 4: expectWire(w, WireType.LengthDelimited, "CdcBatch.source_shard_name"); b.sourceShardName = str(r, "CdcBatch.source_shard_name"); break;
        case BATCH_EVENTS: expectWire(w, WireType.LengthDelimited, "CdcBatch.events"); b.events.push(readEvent(r.bytes())); break;
        case 6: expectWire(w, WireType.Varint, "CdcBatch.sequence_number"); b.sequenceNumber = r.int64() as bigint; break;
        case 7: expectWire(w, WireType.Varint, "CdcBatch.first_event_sequence"); b.firstEventSequence = r.int64() as bigint; break;
        case 8: expectWire(w, WireType.Varint, "CdcBatch.last_event_sequence"); b.lastEventSequence = r.int64() as bigint; break;
        case 9: expectWire(w, WireType.Varint, "CdcBatch.size_bytes"); r.int64(); break;
        case 10: expectWire(w, WireType.Varint, "CdcBatch.is_retry"); b.isRetry = r.bool(); break;
        case 11: expectWire(w, WireType.Varint, "CdcBatch.retry_count"); b.retryCount = r.uint32(); break;
        default: r.skip(w, f);
      }
    }
    return b;
  } catch (e) {
    if (e instanceof NeedsFullDecode) return undefined;
    if (e instanceof SkimError) throw e;
    throw new SkimError(`malformed protobuf (${(e as Error).message})`);
  }
}
