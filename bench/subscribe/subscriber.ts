/** The subscribe bench's codec side: subscribe/credit frames and what a server frame says, with the server's own codecs. */
import { create } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { SubscribeClientMessageSchema, StartFrom } from "../../gen/dolake/subscribe/v1/subscribe_pb.js";
import { decodeSubscribeServerFrame, encodeSubscribeClientMessage } from "../../src/protocol/subscribe-frames.js";

export * from "../lib/workload.js";

/** A binary Subscribe frame. */
export function subscribeFrame(opts: { tables?: string[]; from: "now" | "earliest"; credits: number; maxBatchEvents: number }): Uint8Array {
  const from = opts.from === "now" ? StartFrom.NOW : StartFrom.EARLIEST;
  return encodeSubscribeClientMessage(create(SubscribeClientMessageSchema, { message: { case: "subscribe", value: { tables: opts.tables ?? [], from, credits: opts.credits, maxBatchEvents: opts.maxBatchEvents } } }), "binary") as Uint8Array;
}

/** A binary Credit frame. */
export function creditFrame(batches: number): Uint8Array {
  return encodeSubscribeClientMessage(create(SubscribeClientMessageSchema, { message: { case: "credit", value: { batches } } }), "binary") as Uint8Array;
}

/** What the bench needs of a server frame: its kind and, for batches, the sequences of its events and the cursor. */
export function readSubscribeFrame(data: Uint8Array): { kind: string; sequences?: number[]; cursor?: string; error?: string } {
  const m = decodeSubscribeServerFrame(data).message;
  if (m.case === "changeBatch") return { kind: "batch", sequences: m.value.events.map((e) => Number(e.sequence)), cursor: m.value.cursor };
  if (m.case === "error") return { kind: "error", error: m.value.message };
  return { kind: String(m.case) };
}

/**
 * Counts the events of a binary change_batch frame without decoding them (the bench's client must
 * not be the bottleneck of a 50-subscriber fan-out); other frames are read fully.
 */
export function countSubscribeFrame(data: Uint8Array): { kind: string; events?: number; error?: string } {
  const r = new BinaryReader(data);
  const [field] = r.tag();
  if (field !== 2) return readSubscribeFrame(data);
  const inner = new BinaryReader(r.bytes());
  let events = 0;
  while (inner.pos < inner.len) {
    const [f, wt] = inner.tag();
    if (f === 1) events++;
    inner.skip(wt as WireType);
  }
  return { kind: "batch", events };
}
