import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ClientMessageSchema } from "/work/main/gen/dolake/cdc/v1/cdc_pb.js";
import { ChangeEventSchema, SubscribeServerMessageSchema } from "/work/main/gen/dolake/subscribe/v1/subscribe_pb.js";
import { batchFrame } from "/work/main/bench/lib/workload.js";
import { encodeSubscribeServerMessage, subscribeServer } from "/work/main/src/protocol/subscribe-frames.js";
export function run() {
  const frame = batchFrame("binary", "s", 1, 1, 1000) as Uint8Array;
  const N = 30;
  let t = performance.now();
  let msg: any;
  for (let i = 0; i < N; i++) msg = fromBinary(ClientMessageSchema, frame);
  const dec = (performance.now() - t) / N;
  const evs = msg.message.value.events;
  t = performance.now();
  let out: any[] = [];
  for (let i = 0; i < N; i++) out = evs.map((e: any, k: number) => create(ChangeEventSchema, { position: BigInt(k), operation: e.operation, table: e.table, rowId: e.rowId, before: e.before, after: e.after, metadata: e.metadata, sequence: e.sequence, source: "s", timestamp: e.timestamp, ackedAt: 1n }));
  const cr = (performance.now() - t) / N;
  t = performance.now();
  for (let i = 0; i < N; i++) encodeSubscribeServerMessage(subscribeServer("changeBatch", { events: out, cursor: "1000" }), "binary");
  const enc = (performance.now() - t) / N;
  t = performance.now();
  for (let i = 0; i < N; i++) encodeSubscribeServerMessage(subscribeServer("changeBatch", { events: out, cursor: "1000" }), "json");
  const json = (performance.now() - t) / N;
  return { ms_per_1000_events: { decode: +dec.toFixed(2), create: +cr.toFixed(2), encodeBinary: +enc.toFixed(2), encodeJson: +json.toFixed(2) }, frameBytes: frame.byteLength };
}
