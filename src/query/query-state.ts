/**
 * What a query needs from the DoLake object, read in ONE synchronous turn so it is consistent:
 * per table, the catalog pointer (metadata location, cached metadata text) and the primary-key
 * index locations of the rows buffered changes replace, plus the buffered (acked, unflushed)
 * batches that hold changes of those tables, as the bytes they were acked in. A flush swaps the
 * pointer, updates the index and drops its batches in one transaction, so no interleaving can
 * show a half-flushed state. The object only splits the batches far enough to find their tables
 * and row ids (binary frames by their wire layout, JSON with the native parser); decoding them
 * into rows happens in the Worker (`tableStates`), so a query's CPU stays off the ack path.
 *
 * `readQueryStatePaged` does the same work in short synchronous steps with the object's event
 * loop free between them (acks go on): the first step takes the pointers and the list of buffered
 * batches, later steps read payloads and look row ids up in the index a page at a time, and the
 * last step checks that no requested table's pointer moved meanwhile. Every change that could make
 * the pages disagree (a flush committing a table, a compaction's swap, another engine's commit)
 * moves the pointer of the table it touches, so an unchanged pointer proves the pages consistent;
 * a moved one restarts the read (after a few restarts, one synchronous read).
 */
import { fromBinary } from "@bufbuild/protobuf";
import { ClientMessageSchema, Operation } from "../../gen/dolake/cdc/v1/cdc_pb.js";
import type { DurableBuffer } from "../buffer/durable-buffer.js";
import type { CatalogStore } from "../catalog/store.js";
import { SqlPrimaryKeyIndex } from "../flush/pk-index.js";
import { decodeClientFrame } from "../protocol/frames.js";
import { rowToJson } from "../protocol/json-value.js";
import { splitBinaryBatch } from "../protocol/wire-events.js";
import { decodeBinaryBatch, type DecodedEvent } from "../protocol/batch-decode.js";
import type { JsonObject } from "../util/json.js";

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

/** A table named by a query. */
export interface TableRequest {
  namespace: string[];
  name: string;
}

/** One table's pointer and the snapshot positions its buffered changes replace (the object's part). */
export interface TablePointer extends TableRequest {
  metadataLocation: string | null;
  metadataJson: string | null;
  /** [data file path, position] of snapshot rows that buffered changes replace or delete. */
  replacedPositions: Array<[string, string]>;
  detectTimestamps: boolean;
}

/** A buffered batch handed to the Worker: its bytes and the tables already committed from it. */
export interface RawBatch {
  format: "binary" | "json";
  payload: Uint8Array;
  receivedAt: number;
  committed: string[];
}

/** The object's answer: pointers of the tables asked for and the batches holding their changes. */
export interface RawQueryState {
  tables: TablePointer[];
  batches: RawBatch[];
  /** The namespace CDC tables are written to. */
  cdcNamespace: string;
}

/** One table's consistent read state, as the engine reads it (Worker side). */
export interface TableState extends TablePointer {
  /** Buffered changes of the table, in arrival order. */
  buffered: BufferedChangeRow[];
}

/** What the read needs from the object. */
export interface StateSources {
  sql: SqlStorage;
  buffer: DurableBuffer;
  catalog: CatalogStore;
  /** The namespace CDC tables are written to. */
  cdcNamespace: string;
  detectTimestamps: boolean;
}

const utf8 = new TextDecoder();

/** Table and row id of each event of a buffered payload, without decoding its rows. */
function eventKeys(format: "binary" | "json", payload: Uint8Array): Array<{ table: string; rowId: string }> {
  if (format === "binary") {
    const wire = splitBinaryBatch(payload);
    if (wire) return wire;
    const msg = fromBinary(ClientMessageSchema, payload).message;
    return msg.case === "cdcBatch" ? msg.value.events : [];
  }
  // The published form ({"type":"cdc_batch","events":[...]}) or the proto3 JSON envelope ({"cdcBatch":{...}}).
  type Events = { events?: Array<{ table?: unknown; rowId?: unknown; row_id?: unknown }> };
  const frame = JSON.parse(utf8.decode(payload)) as Events & { cdcBatch?: Events; cdc_batch?: Events };
  const events = frame.events ?? frame.cdcBatch?.events ?? frame.cdc_batch?.events ?? [];
  return events.map((e) => ({ table: String(e.table ?? ""), rowId: String(e.rowId ?? e.row_id ?? "") }));
}

/** Bytes of buffered payload one step of a paged read splits (about 2,000 events of 250 bytes). */
const PAGE_BYTES = 512 * 1024;
/** Row ids one step looks up in the primary-key index. */
const LOOKUP_PAGE = 5000;
/** Restarts of a paged read whose tables were committed meanwhile, before one synchronous read. */
const PAGED_ATTEMPTS = 3;

function normalize(src: StateSources, requested: TableRequest[]): TableRequest[] {
  return requested.map((t) => (t.namespace.length === 0 ? { namespace: [src.cdcNamespace], name: t.name } : t));
}

/** The state of `tables` read in short steps, `pause()` between them (see the file comment). */
export async function readQueryStatePaged(src: StateSources, requested: TableRequest[], pause: () => Promise<void>): Promise<RawQueryState & { attempts: number }> {
  const tables = normalize(src, requested);
  const inCdc = (t: TableRequest) => t.namespace.join(".") === src.cdcNamespace;
  const wanted = new Set(tables.filter(inCdc).map((t) => t.name));
  for (let attempt = 1; attempt <= PAGED_ATTEMPTS; attempt++) {
    // Step 1: pointers and the batches buffered now (later acks are not part of this read).
    const rows = tables.map((t) => src.catalog.getTable({ namespace: t.namespace, name: t.name }));
    const pointers = rows.map((r) => r?.metadataLocation ?? null);
    const metas = wanted.size > 0 && src.buffer.stats().batchCount > 0 ? src.buffer.take(Number.MAX_SAFE_INTEGER, 0, false) : [];
    const done = src.buffer.doneTables(metas.map((b) => b.id));
    const rowIds = new Map<string, Set<string>>();
    const batches: RawBatch[] = [];
    let moved = false;
    // Steps: split payloads a page at a time.
    for (let i = 0; i < metas.length && !moved; ) {
      let bytes = 0;
      for (; i < metas.length && (bytes === 0 || bytes + metas[i]!.sizeBytes <= PAGE_BYTES); i++) {
        const b = metas[i]!;
        bytes += b.sizeBytes;
        const payload = src.buffer.payloadOf(b);
        if (payload.byteLength !== b.sizeBytes) {
          moved = true; // flushed away meanwhile: a pointer moved too
          break;
        }
        const committed = done.get(b.id);
        if (collectKeys(b.format, payload, wanted, committed, rowIds)) batches.push({ format: b.format, payload, receivedAt: b.receivedAt, committed: [...(committed ?? [])] });
      }
      await pause();
      moved ||= changed(src, tables, pointers);
    }
    // Steps: index lookups of the buffered row ids, a page at a time.
    const replaced = tables.map(() => [] as Array<[string, string]>);
    for (let k = 0; k < tables.length && !moved; k++) {
      const t = tables[k]!;
      const ids = inCdc(t) ? rowIds.get(t.name) : undefined;
      if (!rows[k] || !ids) continue;
      const index = new SqlPrimaryKeyIndex(src.sql, `${t.namespace.join(".")}.${t.name}`);
      const all = [...ids];
      for (let j = 0; j < all.length && !moved; j += LOOKUP_PAGE) {
        for (const loc of index.lookup(all.slice(j, j + LOOKUP_PAGE)).values()) replaced[k]!.push([loc.filePath, loc.pos.toString()]);
        await pause();
        moved ||= changed(src, tables, pointers);
      }
    }
    if (moved || changed(src, tables, pointers)) continue;
    return {
      attempts: attempt,
      cdcNamespace: src.cdcNamespace,
      batches,
      tables: tables.map((t, k) => ({ namespace: t.namespace, name: t.name, metadataLocation: pointers[k]!, metadataJson: rows[k]?.metadataJson ?? null, replacedPositions: replaced[k]!, detectTimestamps: src.detectTimestamps })),
    };
  }
  return { ...readQueryState(src, requested), attempts: PAGED_ATTEMPTS + 1 };
}

function changed(src: StateSources, tables: TableRequest[], pointers: Array<string | null>): boolean {
  return tables.some((t, k) => (src.catalog.getTable({ namespace: t.namespace, name: t.name })?.metadataLocation ?? null) !== pointers[k]);
}

/** Adds the row ids of `wanted` tables' events (not yet committed from this batch) to `rowIds`; true when the batch holds any. */
function collectKeys(format: "binary" | "json", payload: Uint8Array, wanted: Set<string>, committed: Set<string> | undefined, rowIds: Map<string, Set<string>>): boolean {
  let holds = false;
  for (const e of eventKeys(format, payload)) {
    if (!wanted.has(e.table) || committed?.has(e.table)) continue;
    holds = true;
    let ids = rowIds.get(e.table);
    if (!ids) rowIds.set(e.table, (ids = new Set()));
    ids.add(e.rowId);
  }
  return holds;
}

/** Reads the state of `tables` in one synchronous turn: nothing may interleave (see the file comment). */
export function readQueryState(src: StateSources, requested: TableRequest[]): RawQueryState {
  const tables = normalize(src, requested);
  const wanted = new Set(tables.filter((t) => t.namespace.join(".") === src.cdcNamespace).map((t) => t.name));
  const rowIds = new Map<string, Set<string>>();
  const batches: RawBatch[] = [];
  if (wanted.size > 0 && src.buffer.stats().batchCount > 0) {
    const buffered = src.buffer.take(Number.MAX_SAFE_INTEGER);
    // A batch stays buffered until every table it carries is flushed: its events of tables already
    // committed (src/flush/flusher.ts) are in the snapshot and must not count twice.
    const done = src.buffer.doneTables(buffered.map((b) => b.id));
    for (const b of buffered) {
      const committed = done.get(b.id);
      if (collectKeys(b.format, b.payload, wanted, committed, rowIds)) batches.push({ format: b.format, payload: b.payload, receivedAt: b.receivedAt, committed: [...(committed ?? [])] });
    }
  }
  return {
    cdcNamespace: src.cdcNamespace,
    batches,
    tables: tables.map((t) => {
      const row = src.catalog.getTable({ namespace: t.namespace, name: t.name });
      const ids = t.namespace.join(".") === src.cdcNamespace ? rowIds.get(t.name) : undefined;
      const replaced: Array<[string, string]> = [];
      if (row && ids) {
        const index = new SqlPrimaryKeyIndex(src.sql, `${t.namespace.join(".")}.${t.name}`);
        for (const loc of index.lookup([...ids]).values()) replaced.push([loc.filePath, loc.pos.toString()]);
      }
      return { namespace: t.namespace, name: t.name, metadataLocation: row?.metadataLocation ?? null, metadataJson: row?.metadataJson ?? null, replacedPositions: replaced, detectTimestamps: src.detectTimestamps };
    }),
  };
}

const OPS: Record<number, BufferedChangeRow["operation"]> = {
  [Operation.INSERT]: "INSERT",
  [Operation.UPDATE]: "UPDATE",
  [Operation.DELETE]: "DELETE",
};

/** The events of a buffered batch with row images as JSON (the flush's one-walk decoder for binary frames). */
function decodeEvents(b: RawBatch): DecodedEvent[] {
  if (b.format === "binary") {
    const fast = decodeBinaryBatch(b.payload);
    if (fast) return fast;
  }
  const msg = b.format === "json" ? decodeClientFrame(utf8.decode(b.payload)).message : fromBinary(ClientMessageSchema, b.payload);
  if (msg.message.case !== "cdcBatch") return [];
  return msg.message.value.events.map((e) => ({
    sequence: e.sequence, timestamp: e.timestamp, operation: e.operation, table: e.table, rowId: e.rowId,
    before: e.before ? rowToJson(e.before) : null, after: e.after ? rowToJson(e.after) : null, metadata: e.metadata ? rowToJson(e.metadata) : null,
  }));
}

/** The Worker's half: decodes the handed-over batches into each table's buffered changes. */
export function tableStates(raw: RawQueryState): TableState[] {
  const changes = new Map<string, BufferedChangeRow[]>();
  const wanted = new Set(raw.tables.filter((t) => t.namespace.join(".") === raw.cdcNamespace).map((t) => t.name));
  for (const b of raw.batches) {
    const committed = new Set(b.committed);
    for (const e of decodeEvents(b)) {
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
  return raw.tables.map((t) => ({ ...t, buffered: (t.namespace.join(".") === raw.cdcNamespace && changes.get(t.name)) || [] }));
}
