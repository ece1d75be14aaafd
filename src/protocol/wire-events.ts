/**
 * The binary fast path of change streams: a buffered binary cdc_batch is split into its events
 * with their row images left as the producer's bytes, and a ChangeEvent is written around those
 * bytes, so a binary subscriber's frame costs a copy, not a protobuf decode and re-encode (about
 * 11 and 7 µs per event with protobuf-es, bench/subscribe/RESULTS.md). The payload was checked
 * when it was acked (the skim reader accepts nothing fromBinary refuses), so splitting trusts it;
 * anything protobuf would merge (a repeated message field, two cdc_batch fields) goes to the full
 * decoder instead.
 */
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

/** One buffered event in wire form. */
export interface WireEvent {
  sequence: bigint;
  timestamp: bigint;
  operation: number;
  table: string;
  rowId: string;
  before?: Uint8Array;
  after?: Uint8Array;
  metadata?: Uint8Array;
}

/** The events of a binary ClientMessage holding a cdc_batch, or undefined when the full decoder must read it. */
export function splitBinaryBatch(payload: Uint8Array): WireEvent[] | undefined {
  const r = new BinaryReader(payload);
  let batch: Uint8Array | undefined;
  while (r.pos < r.len) {
    const [f, w] = r.tag();
    if (f === 2 && w === WireType.LengthDelimited) {
      if (batch) return undefined; // two cdc_batch fields merge
      batch = r.bytes();
    } else r.skip(w, f);
  }
  if (!batch) return undefined;
  const b = new BinaryReader(batch);
  const events: WireEvent[] = [];
  while (b.pos < b.len) {
    const [f, w] = b.tag();
    if (f !== 5 || w !== WireType.LengthDelimited) {
      b.skip(w, f);
      continue;
    }
    const e = readEvent(b.bytes());
    if (!e) return undefined;
    events.push(e);
  }
  return events;
}

function readEvent(bytes: Uint8Array): WireEvent | undefined {
  const r = new BinaryReader(bytes);
  const e: WireEvent = { sequence: 0n, timestamp: 0n, operation: 0, table: "", rowId: "" };
  while (r.pos < r.len) {
    const [f, w] = r.tag();
    switch (f) {
      case 1: e.sequence = r.int64() as bigint; break;
      case 2: e.timestamp = r.int64() as bigint; break;
      case 3: e.operation = r.int32(); break;
      case 4: e.table = r.string(); break;
      case 5: e.rowId = r.string(); break;
      case 6:
      case 7:
      case 8: {
        const key = f === 6 ? "before" : f === 7 ? "after" : "metadata";
        if (e[key] !== undefined) return undefined; // protobuf merges a repeated message field
        e[key] = r.bytes();
        break;
      }
      default: r.skip(w, f);
    }
  }
  return e;
}

/** A ChangeEvent's bytes (proto/dolake/subscribe/v1) around an event's own row bytes. */
export function encodeWireEvent(e: WireEvent, position: bigint, source: string, timestamp: bigint, ackedAt: bigint): Uint8Array {
  const w = new BinaryWriter();
  if (position !== 0n) w.tag(1, WireType.Varint).int64(position);
  if (e.operation !== 0) w.tag(2, WireType.Varint).int32(e.operation);
  if (e.table !== "") w.tag(3, WireType.LengthDelimited).string(e.table);
  if (e.rowId !== "") w.tag(4, WireType.LengthDelimited).string(e.rowId);
  if (e.before !== undefined) w.tag(5, WireType.LengthDelimited).bytes(e.before);
  if (e.after !== undefined) w.tag(6, WireType.LengthDelimited).bytes(e.after);
  if (e.sequence !== 0n) w.tag(7, WireType.Varint).int64(e.sequence);
  if (source !== "") w.tag(8, WireType.LengthDelimited).string(source);
  if (timestamp !== 0n) w.tag(9, WireType.Varint).int64(timestamp);
  if (ackedAt !== 0n) w.tag(10, WireType.Varint).int64(ackedAt);
  if (e.metadata !== undefined) w.tag(11, WireType.LengthDelimited).bytes(e.metadata);
  return w.finish();
}

/** A binary SubscribeServerMessage holding a ChangeBatch of encoded events and its cursor. */
export function changeBatchFrame(events: Uint8Array[], cursor: string): Uint8Array {
  const w = new BinaryWriter();
  w.tag(2, WireType.LengthDelimited).fork();
  for (const e of events) w.tag(1, WireType.LengthDelimited).bytes(e);
  if (cursor !== "") w.tag(2, WireType.LengthDelimited).string(cursor);
  w.join();
  return w.finish();
}
