/**
 * What-if measurements for the ingest hot spots (not product code): how much of the decode cost
 * is avoidable.
 * - Binary: the server fully materializes every Row/Value message (fromBinary) only to validate
 *   sequence/table/rowId/operation and presence of `after`, then stores the raw frame. A skim
 *   that reads just those fields with @bufbuild/protobuf's BinaryReader and skips the row images
 *   (length-delimited) is what the validation needs.
 * - JSON: native JSON.parse alone vs the current parseJson + messageFromJson (a Value message per
 *   column) + toBinary re-encode for the buffer.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { ClientMessageSchema } from "../../gen/dolake/cdc/v1/cdc_pb.js";
import { decodeClientFrame } from "../../src/protocol/frames.js";
import { batchFrame } from "../lib/workload.js";

/** CPU time of this process (user + system), ms: robust to other load on the machine, unlike wall time. */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** What validation needs of one event. */
interface Skimmed {
  sequence: bigint;
  operation: number;
  table: string;
  rowId: string;
  hasAfter: boolean;
}

function skimEvent(r: BinaryReader, end: number): Skimmed {
  const e: Skimmed = { sequence: 0n, operation: 0, table: "", rowId: "", hasAfter: false };
  while (r.pos < end) {
    const [no, wt] = r.tag();
    switch (no) {
      case 1: e.sequence = BigInt(r.int64()); break;
      case 3: e.operation = r.int32(); break;
      case 4: e.table = r.string(); break;
      case 5: e.rowId = r.string(); break;
      case 7: e.hasAfter = true; r.skip(wt); break;
      default: r.skip(wt);
    }
  }
  return e;
}

/** Reads a ClientMessage{cdc_batch} frame's events' key fields without decoding row images. */
export function skimBatch(bytes: Uint8Array): Skimmed[] {
  const r = new BinaryReader(bytes);
  const events: Skimmed[] = [];
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no !== 2 || wt !== WireType.LengthDelimited) { r.skip(wt); continue; }
    const end = r.uint32() + r.pos;
    while (r.pos < end) {
      const [f, w] = r.tag();
      if (f === 5 && w === WireType.LengthDelimited) {
        const len = r.uint32();
        events.push(skimEvent(r, r.pos + len));
      } else r.skip(w);
    }
  }
  return events;
}

function time(label: string, events: number, reps: number, fn: () => void): { label: string; usPerEvent: number } {
  fn();
  const t = cpuMs();
  for (let i = 0; i < reps; i++) fn();
  return { label, usPerEvent: +(((cpuMs() - t) * 1000) / (events * reps)).toFixed(3) };
}

/** Per-event costs of each decode strategy for a batch of `batch` events. */
export function whatIf(batch: number, reps: number) {
  const bin = batchFrame("binary", "w", 1, 1, batch) as Uint8Array;
  const json = batchFrame("json", "w", 1, 1, batch) as string;
  const skim = skimBatch(bin);
  if (skim.length !== batch || !skim.every((e, i) => e.sequence === BigInt(i + 1) && e.table === "orders" && e.hasAfter)) throw new Error("skim disagrees with the frame");
  return [
    time("binary: fromBinary (current decode)", batch, reps, () => void fromBinary(ClientMessageSchema, bin)),
    time("binary: skim key fields, skip row images", batch, reps, () => void skimBatch(bin)),
    time("json: decodeClientFrame (parseJson + messageFromJson)", batch, reps, () => void decodeClientFrame(json)),
    time("json: + toBinary re-encode for the buffer", batch, reps, () => {
      const m = decodeClientFrame(json).message;
      toBinary(ClientMessageSchema, create(ClientMessageSchema, m));
    }),
    time("json: native JSON.parse only", batch, reps, () => void JSON.parse(json)),
  ];
}
