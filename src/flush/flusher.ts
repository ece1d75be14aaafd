/**
 * Flush orchestration: buffer -> table writes on R2 -> one SQLite transaction that commits the
 * table pointers and removes the flushed batches. A crash before that transaction leaves only
 * unreferenced files (the events are flushed again); after it, the events are gone from the buffer
 * and in the tables. Never both, never neither.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { type CdcEvent, ClientMessageSchema } from "../../gen/dolake/cdc/v1/cdc_pb.js";
import type { BufferedBatch, DurableBuffer } from "../buffer/durable-buffer.js";
import { decodeClientFrame } from "../protocol/frames.js";
import { COMMIT_ATTEMPTS } from "../catalog/commit.js";
import { CommitFailedError } from "../iceberg/metadata/errors.js";

/** One change, as the table writers take it. */
export interface BufferedChange {
  sourceId: string;
  event: CdcEvent;
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
  /** Writes the changes (grouped by source table, in sequence order per source) and returns how to commit them. */
  prepare(changesByTable: Map<string, BufferedChange[]>): Promise<PreparedFlush>;
}

/** What one flush did. */
export interface FlushOutcome {
  eventsFlushed: number;
  tables: string[];
  persistedPath: string;
  /** Highest flushed event sequence per source. */
  persisted: Map<string, { sequence: bigint; batchNumber: bigint }>;
}

const utf8 = new TextDecoder();

/** Decodes buffered batches and groups their events by source table, keeping arrival order. */
export function groupByTable(batches: BufferedBatch[]): Map<string, BufferedChange[]> {
  const byTable = new Map<string, BufferedChange[]>();
  for (const b of batches) {
    const msg = b.format === "json" ? decodeClientFrame(utf8.decode(b.payload)).message : fromBinary(ClientMessageSchema, b.payload);
    if (msg.message.case !== "cdcBatch") throw new Error(`buffered batch ${b.id} is not a cdc_batch`);
    for (const event of msg.message.value.events) {
      let list = byTable.get(event.table);
      if (!list) byTable.set(event.table, (list = []));
      list.push({ sourceId: b.sourceId, event });
    }
  }
  return byTable;
}

/**
 * Flushes the whole buffer, in steps of at most maxStepBytes so memory stays bounded. Each step is
 * its own atomic commit. Batches that arrive during a flush stay for the next one.
 */
export async function flushBuffer(
  storage: DurableObjectStorage,
  buffer: DurableBuffer,
  sink: FlushSink,
  maxStepBytes: number,
): Promise<FlushOutcome> {
  const outcome: FlushOutcome = { eventsFlushed: 0, tables: [], persistedPath: "", persisted: new Map() };
  const tables = new Set<string>();
  const stopAt = buffer.stats().batchCount;
  let taken = 0;
  while (taken < stopAt) {
    const batches = buffer.take(maxStepBytes);
    if (batches.length === 0) break;
    taken += batches.length;
    const changes = groupByTable(batches);
    let prepared: PreparedFlush;
    for (let attempt = 1; ; attempt++) {
      try {
        prepared = await sink.prepare(changes);
      } catch (e) {
        if (!(e instanceof CommitFailedError) || attempt >= COMMIT_ATTEMPTS) throw e;
        continue; // the table moved between loading it and preparing the commit
      }
      try {
        storage.transactionSync(() => {
          prepared.commit();
          buffer.removeFlushed(batches);
        });
        // What is left behind on a failure here is unreferenced: remove-orphan-files takes it.
        await prepared.afterCommit?.().catch(() => {});
        break;
      } catch (e) {
        buffer.refreshTotals();
        await prepared.abort().catch(() => {});
        // Another writer (a REST client) committed to one of the tables meanwhile: write again on
        // top of its snapshot. The catalog is the one commit point; nothing is lost either way.
        if (!(e instanceof CommitFailedError) || attempt >= COMMIT_ATTEMPTS) throw e;
      }
    }
    buffer.refreshTotals();
    for (const b of batches) {
      outcome.eventsFlushed += b.eventCount;
      const prev = outcome.persisted.get(b.sourceId);
      if (!prev || b.lastSequence > prev.sequence) outcome.persisted.set(b.sourceId, { sequence: b.lastSequence, batchNumber: b.batchNumber });
    }
    for (const t of prepared.tables) tables.add(t);
    outcome.persistedPath = prepared.persistedPath || outcome.persistedPath;
  }
  outcome.tables = [...tables].sort();
  return outcome;
}
