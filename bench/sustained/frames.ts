/**
 * Frames for the sustained bench, built fast enough that one client core can outpace the server:
 * the bench row images (bench/lib/workload.ts makeRow) are encoded once into a pool, and each
 * batch frame is written around pooled row bytes with fresh sequences and row ids (every event
 * is an INSERT of a new row id; the `id` column inside repeats every pool size).
 */
import { toBinary } from "@bufbuild/protobuf";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { RowSchema } from "../../gen/dolake/cdc/v1/value_pb.js";
import { decodeServerFrame } from "../../src/protocol/frames.js";
import { rowFromJson } from "../../src/protocol/json-value.js";
import { connectFrame, makeRow } from "../lib/workload.js";

export { connectFrame };

/** Encoded Row messages of makeRow(1..size). */
export function rowPool(size: number): Uint8Array[] {
  return Array.from({ length: size }, (_, i) => toBinary(RowSchema, rowFromJson(makeRow(i + 1))));
}

/** A binary ClientMessage with one cdc_batch of `n` INSERTs into `table`, events numbered from `firstSeq`. */
export function batchFrame(pool: Uint8Array[], table: string, source: string, batchNumber: number, firstSeq: number, n: number): Uint8Array {
  const batch = new BinaryWriter();
  batch.tag(1, 0).int64(BigInt(Date.now())).tag(3, 2).string(source);
  for (let k = 0; k < n; k++) {
    const seq = firstSeq + k;
    const event = new BinaryWriter()
      .tag(1, 0).int64(BigInt(seq)).tag(2, 0).int64(BigInt(Date.now())).tag(3, 0).int32(1)
      .tag(4, 2).string(table).tag(5, 2).string(`${source}-${seq}`)
      .tag(7, 2).bytes(pool[seq % pool.length]!)
      .finish();
    batch.tag(5, 2).bytes(event);
  }
  batch.tag(6, 0).int64(BigInt(batchNumber)).tag(7, 0).int64(BigInt(firstSeq)).tag(8, 0).int64(BigInt(firstSeq + n - 1));
  return new BinaryWriter().tag(2, 2).bytes(batch.finish()).finish();
}

/** A one-event batch into the freshness table: row {id: marker}. */
export function markerFrame(source: string, batchNumber: number, marker: number): Uint8Array {
  const row = toBinary(RowSchema, rowFromJson({ id: marker, sent_at: new Date().toISOString() }));
  const event = new BinaryWriter().tag(1, 0).int64(BigInt(batchNumber)).tag(2, 0).int64(BigInt(Date.now())).tag(3, 0).int32(1)
    .tag(4, 2).string("freshness").tag(5, 2).string(String(marker)).tag(7, 2).bytes(row).finish();
  const batch = new BinaryWriter().tag(3, 2).string(source).tag(5, 2).bytes(event)
    .tag(6, 0).int64(BigInt(batchNumber)).tag(7, 0).int64(BigInt(batchNumber)).tag(8, 0).int64(BigInt(batchNumber));
  return new BinaryWriter().tag(2, 2).bytes(batch.finish()).finish();
}

/** What the bench reads from a reply: acks with their details, nacks with reason and delay. */
export type Reply =
  | { kind: "connected" }
  | { kind: "ack"; batch: number; status: number; utilization: number; suggestedDelayMs: number }
  | { kind: "nack"; batch: number; reason: number; retryDelayMs: number; message: string }
  | { kind: "other" };

/** Decodes a server frame into a Reply. */
export function readReply(data: Uint8Array | string): Reply {
  const m = decodeServerFrame(data).message;
  switch (m.case) {
    case "connected": return { kind: "connected" };
    case "ack": return { kind: "ack", batch: Number(m.value.sequenceNumber), status: m.value.status, utilization: m.value.details?.bufferUtilization ?? 0, suggestedDelayMs: m.value.details?.suggestedDelayMs ?? 0 };
    case "nack": return { kind: "nack", batch: Number(m.value.sequenceNumber), reason: m.value.reason, retryDelayMs: Number(m.value.retryDelayMs), message: m.value.errorMessage };
    default: return { kind: "other" };
  }
}

/** The server's default config, for restoring the flush thresholds after the burst phase. */
export { DEFAULT_CONFIG } from "../../src/config.js";
/** Nack reason names. */
export { NackReason } from "../../gen/dolake/cdc/v1/cdc_pb.js";
