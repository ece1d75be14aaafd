/**
 * The Worker's half of a query's read state: asks the object for the pointers, replaced positions
 * and the list of buffered batches (src/query/query-state.ts), fetches the batches' bytes in pages
 * (each under the RPC value limit) and decodes them into each table's buffered changes. A page
 * that finds a table committed since the state was read makes the whole read start again.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { ClientMessageSchema, Operation } from "../../gen/dolake/cdc/v1/cdc_pb.js";
import { HttpError } from "../http/errors.js";
import { decodeClientFrame } from "../protocol/frames.js";
import { rowToJson } from "../protocol/json-value.js";
import { decodeBinaryBatch, type DecodedEvent } from "../protocol/batch-decode.js";
import type { JsonObject } from "../util/json.js";
import type { BatchRef, RawQueryState, TablePointer, TableRequest } from "./query-state.js";

/** One buffered change as the query engine sees it. */
export interface BufferedChangeRow {
  operation: "INSERT" | "UPDATE" | "DELETE";
  rowId: string;
  sequence: bigint;
  /** Source commit time, epoch ms (the ack time when the producer sent none, as the flush does). */
  timestamp: bigint;
  /** When DoLake acked the batch, epoch ms (the change's `_commit_timestamp` until it is flushed). */
  ackedAt: number;
  before: JsonObject | null;
  after: JsonObject | null;
}

/** One table's consistent read state, as the engine reads it. */
export interface TableState extends TablePointer {
  /** Buffered changes of the table, in arrival order. */
  buffered: BufferedChangeRow[];
}

/** The warehouse's DoLake object as the query needs it (the Worker passes its stub; src/query does not name the class). */
export interface QueryStateSource {
  /** Pointers, replaced positions and the buffered batches of `tables`, read consistently. */
  queryState(tables: TableRequest[]): Promise<unknown>;
  /** The bytes of those batches, or null when a table was committed since the state was read. */
  queryBatches(tables: Array<TableRequest & { metadataLocation: string | null }>, ids: number[]): Promise<unknown>;
}

/** Bytes of buffered batches one hand-over page carries (an RPC value may hold 32 MiB; smaller pages decode as they come). */
const HANDOVER_PAGE_BYTES = 2 * 1024 * 1024;
/**
 * Buffered bytes of the queried tables a query decodes at most. The decoded changes take 1.2-1.9
 * bytes of heap per wire byte (bench/query/buffer-memory.mjs) and the scan's rows built from them
 * about as much again, so 12 MiB keeps a query's buffered state under ~50 MB of a Worker's 128 MB.
 * Beyond it the answer is a 503 until a flush drains the buffer (the default flush runs at 10,000
 * events, ~3 MB of bench rows).
 */
export const MAX_BUFFERED_QUERY_BYTES = 12 * 1024 * 1024;
const ATTEMPTS = 3;

/** The read state of `tables`: snapshot pointers plus every acked, unflushed change. */
export async function fetchTableStates(source: QueryStateSource, tables: TableRequest[]): Promise<TableState[]> {
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const raw = (await source.queryState(tables)) as RawQueryState;
    const total = raw.batches.reduce((n, b) => n + b.sizeBytes, 0);
    if (total > MAX_BUFFERED_QUERY_BYTES) {
      throw new HttpError(503, "ServiceUnavailableException", `The queried tables have ${(total / 2 ** 20).toFixed(1)} MiB of acked changes not yet flushed, more than a query includes (${MAX_BUFFERED_QUERY_BYTES / 2 ** 20} MiB); retry after the next flush, or query the last snapshot with asOf`);
    }
    const pins = raw.tables.map((t) => ({ namespace: t.namespace, name: t.name, metadataLocation: t.metadataLocation }));
    const wanted = new Set(raw.tables.filter((t) => t.namespace.join(".") === raw.cdcNamespace).map((t) => t.name));
    const changes = new Map<string, BufferedChangeRow[]>();
    let stale = false;
    for (let i = 0; i < raw.batches.length && !stale; ) {
      const page: BatchRef[] = [];
      for (let bytes = 0; i < raw.batches.length && (bytes === 0 || bytes + raw.batches[i]!.sizeBytes <= HANDOVER_PAGE_BYTES); i++) {
        bytes += raw.batches[i]!.sizeBytes;
        page.push(raw.batches[i]!);
      }
      const payloads = (await source.queryBatches(pins, page.map((b) => b.id))) as Uint8Array[] | null;
      if (!payloads) stale = true;
      else page.forEach((b, k) => addChanges(b, payloads[k]!, wanted, changes));
    }
    if (!stale) return raw.tables.map((t) => ({ ...t, buffered: (t.namespace.join(".") === raw.cdcNamespace && changes.get(t.name)) || [] }));
  }
  throw new HttpError(503, "ServiceUnavailableException", "The queried tables were committed again and again while the query read them; retry");
}

const OPS: Record<number, BufferedChangeRow["operation"]> = {
  [Operation.INSERT]: "INSERT",
  [Operation.UPDATE]: "UPDATE",
  [Operation.DELETE]: "DELETE",
};

const utf8 = new TextDecoder();

/** The events of a buffered batch with row images as JSON (the flush's one-walk decoder for binary frames). */
function decodeEvents(format: BatchRef["format"], payload: Uint8Array): DecodedEvent[] {
  if (format === "binary") {
    const fast = decodeBinaryBatch(payload);
    if (fast) return fast;
  }
  const msg = format === "json" ? decodeClientFrame(utf8.decode(payload)).message : fromBinary(ClientMessageSchema, payload);
  if (msg.message.case !== "cdcBatch") return [];
  return msg.message.value.events.map((e) => ({
    sequence: e.sequence, timestamp: e.timestamp, operation: e.operation, table: e.table, rowId: e.rowId,
    before: e.before ? rowToJson(e.before) : null, after: e.after ? rowToJson(e.after) : null, metadata: e.metadata ? rowToJson(e.metadata) : null,
  }));
}

/** Appends the batch's changes of wanted tables (not yet committed from it) to their lists. */
function addChanges(b: BatchRef, payload: Uint8Array, wanted: Set<string>, changes: Map<string, BufferedChangeRow[]>): void {
  const committed = new Set(b.committed);
  for (const e of decodeEvents(b.format, payload)) {
    if (!wanted.has(e.table) || committed.has(e.table)) continue;
    let list = changes.get(e.table);
    if (!list) changes.set(e.table, (list = []));
    list.push({
      operation: OPS[e.operation] ?? "INSERT",
      rowId: e.rowId,
      sequence: e.sequence,
      timestamp: e.timestamp === 0n ? BigInt(b.receivedAt) : e.timestamp,
      ackedAt: b.receivedAt,
      before: e.before,
      after: e.after,
    });
  }
}
