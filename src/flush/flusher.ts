/**
 * Flush orchestration: buffer -> table writes on R2 -> one SQLite transaction that commits the
 * table pointers and removes the flushed batches. A crash before that transaction leaves only
 * unreferenced files (the events are flushed again); after it, the events are gone from the buffer
 * and in the tables. Never both, never neither.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { ClientMessageSchema, Operation } from "../../gen/dolake/cdc/v1/cdc_pb.js";
import type { BufferedBatch, DurableBuffer } from "../buffer/durable-buffer.js";
import { decodeBinaryBatch, type DecodedEvent } from "../protocol/batch-decode.js";
import { decodeClientFrame } from "../protocol/frames.js";
import { rowToJson } from "../protocol/json-value.js";
import { COMMIT_ATTEMPTS } from "../catalog/commit.js";
import type { CdcChange } from "../iceberg/cdc-plan.js";
import { CommitFailedError } from "../iceberg/metadata/errors.js";
import { TableHealth } from "./table-health.js";
import { pacer, type Pacer } from "../util/pace.js";

/** One change, as the table writers take it. */
export interface BufferedChange {
  /** The buffered batch that carried it. */
  batchId?: number;
  change: CdcChange;
}

/** A prepared flush: files are written; `commit` makes them visible. */
export interface PreparedFlush {
  /** Tables that get a new snapshot ("namespace.table"). */
  tables: string[];
  /** Location of a metadata file that holds the flushed events (for persisted acks). */
  persistedPath: string;
  /** Swaps the table pointers. Called inside storage.transactionSync; throws to abort. */
  commit(): void;
  /** Best-effort cleanup of files written for a flush that did not commit. */
  abort(): Promise<void>;
  /** Best-effort deletion of files the committed flush made unreachable (expired snapshots, old metadata). */
  afterCommit?(): Promise<void>;
}

/** Where flushed events go (the Iceberg writer in production). */
export interface FlushSink {
  /**
   * Writes the changes (grouped by source table, in sequence order per source) and returns how to
   * commit them; `pace` lets other events in between slices of the work.
   */
  prepare(changesByTable: Map<string, BufferedChange[]>, pace?: Pacer): Promise<PreparedFlush>;
}

/** What one flush did. */
export interface FlushOutcome {
  eventsFlushed: number;
  tables: string[];
  persistedPath: string;
  /** Highest persisted event sequence per source (and the batch that carried it). */
  persisted: Map<string, { sequence: bigint; batchNumber: bigint }>;
  /** Source tables that failed in this flush (their events stay buffered), with the error. */
  failed: Map<string, string>;
}

const utf8 = new TextDecoder();

const OPS: Record<number, CdcChange["operation"]> = {
  [Operation.INSERT]: "INSERT",
  [Operation.UPDATE]: "UPDATE",
  [Operation.DELETE]: "DELETE",
};

/**
 * The events of a buffered batch with JSON row images: binary frames through the one-walk
 * decoder (src/protocol/batch-decode.ts), JSON frames and the binary ones it declines through the
 * full decoder and rowToJson.
 */
export function decodeBatch(b: BufferedBatch): DecodedEvent[] {
  if (b.format !== "json") {
    const events = decodeBinaryBatch(b.payload);
    if (events) return events;
  }
  const msg = b.format === "json" ? decodeClientFrame(utf8.decode(b.payload)).message : fromBinary(ClientMessageSchema, b.payload);
  if (msg.message.case !== "cdcBatch") throw new Error(`buffered batch ${b.id} is not a cdc_batch`);
  return msg.message.value.events.map((e) => ({
    sequence: e.sequence, timestamp: e.timestamp, operation: e.operation, table: e.table, rowId: e.rowId,
    before: e.before ? rowToJson(e.before) : null, after: e.after ? rowToJson(e.after) : null, metadata: e.metadata ? rowToJson(e.metadata) : null,
  }));
}

/**
 * Decodes buffered batches and groups their events by source table, keeping arrival order.
 * Events of a (batch, table) pair in `done` were committed already and are left out. An event
 * without a timestamp gets its batch's receivedAt (the ack time).
 */
export function groupByTable(batches: BufferedBatch[], done = new Map<number, Set<string>>()): Map<string, BufferedChange[]> {
  const byTable = new Map<string, BufferedChange[]>();
  for (const b of batches) {
    const skip = done.get(b.id);
    let position = b.logStart;
    for (const e of decodeBatch(b)) {
      const logPosition = position++; // dense within the batch: every event counts, skipped or not
      if (skip?.has(e.table)) continue;
      let list = byTable.get(e.table);
      if (!list) byTable.set(e.table, (list = []));
      list.push({
        batchId: b.id,
        change: {
          operation: OPS[e.operation]!, rowId: e.rowId, sequence: e.sequence,
          // No source time given (0, the proto default): the change gets its ack time, not 1970.
          timestamp: e.timestamp === 0n ? BigInt(b.receivedAt) : e.timestamp,
          source: b.sourceId, before: e.before, after: e.after, metadata: e.metadata,
          logPosition, ackedAt: BigInt(b.receivedAt),
        },
      });
    }
  }
  return byTable;
}

/**
 * Work units (bytes of buffered payload decoded, of column chunks encoded) between two yields of a
 * flush to the object's event queue: ~256 KiB of a step at a time, so acks are answered while a
 * flush runs (bench/compaction/RESULTS.md "--during flush" has the figures).
 */
export const FLUSH_SLICE_UNITS = 256 * 1024;

/** groupByTable in slices of about `FLUSH_SLICE_UNITS` payload bytes, yielding between them. */
async function groupByTablePaced(batches: BufferedBatch[], done: Map<number, Set<string>>, pace: Pacer): Promise<Map<string, BufferedChange[]>> {
  const byTable = new Map<string, BufferedChange[]>();
  let start = 0;
  while (start < batches.length) {
    let end = start;
    let bytes = 0;
    while (end < batches.length && bytes < FLUSH_SLICE_UNITS) bytes += batches[end++]!.payload.length;
    for (const [table, list] of groupByTable(batches.slice(start, end), done)) {
      const all = byTable.get(table);
      if (!all) byTable.set(table, list);
      else for (const c of list) all.push(c);
    }
    start = end;
    await pace.spend(bytes);
  }
  return byTable;
}

/** Prepares and commits one table's changes, retrying when another writer moved the table. */
async function flushTable(
  storage: DurableObjectStorage,
  buffer: DurableBuffer,
  sink: FlushSink,
  table: string,
  changes: BufferedChange[],
  pace: Pacer,
): Promise<PreparedFlush> {
  const batchIds = new Set(changes.map((c) => c.batchId!));
  for (let attempt = 1; ; attempt++) {
    let prepared: PreparedFlush;
    try {
      prepared = await sink.prepare(new Map([[table, changes]]), pace);
    } catch (e) {
      if (!(e instanceof CommitFailedError) || attempt >= COMMIT_ATTEMPTS) throw e;
      continue; // the table moved between loading it and preparing the commit
    }
    try {
      // The table's snapshot and the mark "these batches' events of this table are in" commit
      // together: a retry after a crash or a failure elsewhere never applies them twice.
      storage.transactionSync(() => {
        prepared.commit();
        buffer.markTableDone(batchIds, table);
      });
    } catch (e) {
      await prepared.abort().catch(() => {});
      // Another writer (a REST client) committed to the table meanwhile: write again on top of
      // its snapshot. The catalog is the one commit point; nothing is lost either way.
      if (!(e instanceof CommitFailedError) || attempt >= COMMIT_ATTEMPTS) throw e;
      continue;
    }
    // Committed. What is left behind on a failure here is unreferenced: remove-orphan-files takes it.
    await prepared.afterCommit?.().catch(() => {});
    return prepared;
  }
}

/**
 * Flushes the buffer, in steps of at most maxStepBytes so memory stays bounded. Each table of a
 * step is its own atomic commit: a table that fails (or is still backing off in `health`) keeps
 * its events buffered and is skipped for the rest of the flush, so its order is kept, while the
 * other tables flush. A batch leaves the buffer once every table it carries is committed.
 * Throws only if tables failed and none flushed (then the whole store is likely down).
 */
export async function flushBuffer(
  storage: DurableObjectStorage,
  buffer: DurableBuffer,
  sink: FlushSink,
  maxStepBytes: number,
  health: TableHealth = new TableHealth(),
  /** Try failing tables now, ignoring their backoff (an explicit flush request). */
  force = true,
  now: () => number = Date.now,
): Promise<FlushOutcome> {
  const outcome: FlushOutcome = { eventsFlushed: 0, tables: [], persistedPath: "", persisted: new Map(), failed: new Map() };
  const tables = new Set<string>();
  const stopAt = buffer.stats().batchCount;
  const held = new Set<string>(); // failing or backing off: skipped for the rest of this flush
  let firstError: unknown;
  let committed = 0;
  let taken = 0;
  let cursor = 0;
  // The flush shares the object's one thread with ingest: it yields between slices of its work.
  const pace = pacer(FLUSH_SLICE_UNITS);
  while (taken < stopAt) {
    const batches = buffer.take(maxStepBytes, cursor);
    if (batches.length === 0) break;
    taken += batches.length;
    cursor = batches[batches.length - 1]!.id;
    const changes = await groupByTablePaced(batches, buffer.doneTables(batches.map((b) => b.id)), pace);
    for (const [table, list] of changes) {
      if (held.has(table) || (!force && health.waiting(table, now()))) {
        held.add(table);
        continue;
      }
      try {
        const prepared = await flushTable(storage, buffer, sink, table, list, pace);
        health.ok(table);
        committed++;
        outcome.eventsFlushed += list.length;
        for (const t of prepared.tables) tables.add(t);
        outcome.persistedPath = prepared.persistedPath || outcome.persistedPath;
      } catch (e) {
        held.add(table);
        health.failed(table, (e as Error).message, now());
        outcome.failed.set(table, (e as Error).message);
        firstError ??= e;
      }
    }
    const done = buffer.doneTables(batches.map((b) => b.id));
    const tablesOf = new Map<number, Set<string>>();
    for (const [table, list] of changes) for (const c of list) (tablesOf.get(c.batchId!) ?? tablesOf.set(c.batchId!, new Set()).get(c.batchId!)!).add(table);
    const complete = batches.filter((b) => [...(tablesOf.get(b.id) ?? [])].every((t) => done.get(b.id)?.has(t)));
    if (complete.length > 0) {
      const persisted = storage.transactionSync(() => buffer.removeFlushed(complete));
      for (const [source, p] of persisted) {
        const prev = outcome.persisted.get(source);
        if (!prev || p.sequence > prev.sequence) outcome.persisted.set(source, p);
      }
    }
    buffer.refreshTotals();
  }
  if (firstError !== undefined && committed === 0) throw firstError;
  outcome.tables = [...tables].sort();
  return outcome;
}
