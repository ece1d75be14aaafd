/**
 * A deterministic CDC workload for the durability and data areas: two phases of INSERT, UPDATE and
 * DELETE over typed rows, with the source table's expected state after each phase (the oracle).
 */
import type { Json } from "./json.js";
import type { Published } from "./proto-json.js";

/** One change event in published JSON form. */
export type Event = { sequence: number; timestamp: number; operation: "INSERT" | "UPDATE" | "DELETE"; table: string; rowId: string; after?: Record<string, Json>; before?: Record<string, Json>; metadata?: Record<string, Json> };

/** The workload of one table. */
export interface Workload {
  table: string;
  /** Events of each phase, in sequence order (sequences start at 1). */
  phases: Event[][];
  /** Expected rows after each phase, by row id. */
  states: Array<Map<string, Record<string, Json>>>;
}

const BIG = 9_007_199_254_740_993n; // 2^53 + 1: a double would round it

function image(id: number, version: number): Record<string, Json> {
  return {
    id,
    name: `user ${id} v${version}`,
    score: id * 1.5 + version + 0.25,
    active: (id + version) % 2 === 0,
    big: BIG + BigInt(id),
    note: id % 4 === 0 ? null : `note ${id}`,
    tags: ["a", `t${id % 3}`],
  };
}

/** Builds the workload for `table`. */
export function buildWorkload(table: string): Workload {
  let seq = 0;
  const state = new Map<string, Record<string, Json>>();
  const phases: Event[][] = [];
  const states: Workload["states"] = [];
  const ev = (operation: Event["operation"], id: number, version: number): Event => {
    seq++;
    const rowId = String(id);
    const e: Event = { sequence: seq, timestamp: 1_704_067_200_000 + seq * 1000, operation, table, rowId, metadata: { txn: Math.ceil(seq / 5) } };
    if (operation !== "INSERT" && state.has(rowId)) e.before = state.get(rowId)!;
    if (operation === "DELETE") state.delete(rowId);
    else state.set(rowId, (e.after = image(id, version)));
    return e;
  };
  const p1: Event[] = [];
  for (let id = 1; id <= 30; id++) p1.push(ev("INSERT", id, 0));
  for (let id = 5; id <= 10; id++) p1.push(ev("UPDATE", id, 1));
  for (let id = 11; id <= 15; id++) p1.push(ev("DELETE", id, 0));
  p1.push(ev("UPDATE", 5, 2)); // two changes of one row in one flush collapse to the last
  phases.push(p1);
  states.push(new Map(state));
  const p2: Event[] = [];
  for (let id = 31; id <= 40; id++) p2.push(ev("INSERT", id, 0));
  for (let id = 1; id <= 3; id++) p2.push(ev("UPDATE", id, 3));
  for (let id = 20; id <= 22; id++) p2.push(ev("DELETE", id, 0));
  p2.push(ev("UPDATE", 31, 4));
  p2.push(ev("INSERT", 11, 5)); // a deleted row comes back
  phases.push(p2);
  states.push(new Map(state));
  return { table, phases, states };
}

/** Splits events into cdc_batch messages of at most `size` events, numbering batches from `firstBatch`. */
export function batches(source: string, events: Event[], size: number, firstBatch = 1): Published[] {
  const out: Published[] = [];
  for (let i = 0; i < events.length; i += size) {
    const part = events.slice(i, i + size);
    out.push({
      type: "cdc_batch",
      timestamp: Date.now(),
      sourceDoId: source,
      sequenceNumber: firstBatch + out.length,
      firstEventSequence: part[0]!.sequence,
      lastEventSequence: part[part.length - 1]!.sequence,
      events: part as unknown as Json[],
    });
  }
  return out;
}
