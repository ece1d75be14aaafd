/**
 * The mirror semantics of one flush, without any I/O: which row versions to write and which
 * previous versions to delete. The table mirrors the source:
 * - INSERT and UPDATE make `after` the row's current version; DELETE removes the row.
 * - Several changes to one row in one flush collapse to the last; only the final version is
 *   written, so a version is never written and deleted in the same flush.
 * - A row the index knows (written by an earlier flush) gets a position delete for its old
 *   location as soon as any change touches it (an INSERT of a known row is an upsert).
 * - An UPDATE of a row never seen inserts it; a DELETE of an unknown row changes nothing.
 */
import type { JsonObject } from "../util/json.js";
import type { PartitionTuple } from "./partition.js";

/** One change event, as the durable buffer hands it to the flush. */
export interface CdcChange {
  operation: "INSERT" | "UPDATE" | "DELETE";
  rowId: string;
  sequence: bigint;
  /** Source commit time, epoch milliseconds. */
  timestamp: bigint;
  source: string;
  before: JsonObject | null;
  after: JsonObject | null;
  metadata: JsonObject | null;
  /** Position in the warehouse's log, given at ack time (absent for changes of older buffers). */
  logPosition?: bigint;
  /** When DoLake acknowledged the change, epoch milliseconds. */
  ackedAt?: bigint;
}

/** Where a row version lives: data file path and 0-based position (and the file's partition). */
export interface RowLocation {
  filePath: string;
  pos: bigint;
  /** The data file's partition tuple and spec id; absent for index entries written before they were kept. */
  partition?: PartitionTuple;
  specId?: number;
}

/** The flush's plan for the mirror table. */
export interface MirrorPlan {
  /** Final versions to write, in the order of their last change. */
  rows: { rowId: string; image: JsonObject; sequence: bigint }[];
  /** Old locations to delete (rows the index knew and this flush touched). */
  deletes: { rowId: string; location: RowLocation }[];
  /** Row ids whose index entry must go (deleted rows the index knew). */
  indexDeletes: string[];
}

/** Raised for a change that cannot be applied (an INSERT or UPDATE without an `after` image). */
export class CdcInputError extends Error {
  override readonly name = "CdcInputError";
}

/** Plans the mirror writes for ordered changes, given the index entries of their row ids. */
export function planMirror(changes: readonly CdcChange[], known: ReadonlyMap<string, RowLocation>): MirrorPlan {
  const last = new Map<string, CdcChange>();
  for (const c of changes) {
    if (c.operation !== "DELETE" && c.after === null) throw new CdcInputError(`${c.operation} of row ${c.rowId} (sequence ${c.sequence}) has no after image`);
    if (c.operation !== "INSERT" && c.operation !== "UPDATE" && c.operation !== "DELETE") throw new CdcInputError(`unknown operation ${String(c.operation)} for row ${c.rowId}`);
    last.delete(c.rowId); // re-insert so Map order is the order of last change
    last.set(c.rowId, c);
  }
  const plan: MirrorPlan = { rows: [], deletes: [], indexDeletes: [] };
  for (const [rowId, c] of last) {
    const location = known.get(rowId);
    if (location) plan.deletes.push({ rowId, location });
    if (c.operation === "DELETE") {
      if (location) plan.indexDeletes.push(rowId);
    } else {
      plan.rows.push({ rowId, image: c.after!, sequence: c.sequence });
    }
  }
  return plan;
}
