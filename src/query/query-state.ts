/**
 * What a query needs from the DoLake object, read in ONE synchronous turn so it is consistent:
 * per table, the catalog pointer (metadata location, cached metadata text), every buffered
 * (acked, unflushed) change of its source table, and the primary-key index locations of the rows
 * those changes replace. A flush swaps the pointer, updates the index and drops its batches in one
 * transaction, so no interleaving can show a half-flushed state. Heavy work happens in the Worker.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { ClientMessageSchema, Operation } from "../../gen/dolake/cdc/v1/cdc_pb.js";
import type { DurableBuffer } from "../buffer/durable-buffer.js";
import type { CatalogStore } from "../catalog/store.js";
import { SqlPrimaryKeyIndex } from "../flush/pk-index.js";
import { decodeClientFrame } from "../protocol/frames.js";
import { rowToJson } from "../protocol/json-value.js";
import { stringifyJson, type JsonObject } from "../util/json.js";

/** One buffered change as the query engine sees it. */
export interface BufferedChangeRow {
  operation: "INSERT" | "UPDATE" | "DELETE";
  rowId: string;
  sequence: bigint;
  /** Source commit time, epoch ms. */
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

/** One table's consistent read state. */
export interface TableState extends TableRequest {
  metadataLocation: string | null;
  metadataJson: string | null;
  /** BufferedChangeRow[] in arrival order, as BigInt-safe JSON text. */
  buffered: string;
  /** [data file path, position] of snapshot rows that buffered changes replace or delete. */
  replacedPositions: Array<[string, string]>;
  detectTimestamps: boolean;
}

const OPS: Record<number, BufferedChangeRow["operation"]> = {
  [Operation.INSERT]: "INSERT",
  [Operation.UPDATE]: "UPDATE",
  [Operation.DELETE]: "DELETE",
};

const utf8 = new TextDecoder();

/** What the read needs from the object. */
export interface StateSources {
  sql: SqlStorage;
  buffer: DurableBuffer;
  catalog: CatalogStore;
  /** The namespace CDC tables are written to. */
  cdcNamespace: string;
  detectTimestamps: boolean;
}

/** Reads the states of `tables`. Synchronous on purpose: nothing may interleave (see the file comment). */
export function readQueryState(src: StateSources, requested: TableRequest[]): TableState[] {
  const tables = requested.map((t) => (t.namespace.length === 0 ? { namespace: [src.cdcNamespace], name: t.name } : t));
  const wanted = new Set(tables.filter((t) => t.namespace.join(".") === src.cdcNamespace).map((t) => t.name));
  const changes = new Map<string, BufferedChangeRow[]>();
  if (wanted.size > 0 && src.buffer.stats().batchCount > 0) {
    const batches = src.buffer.take(Number.MAX_SAFE_INTEGER);
    // A batch stays buffered until every table it carries is flushed: its events of tables already
    // committed (src/flush/flusher.ts) are in the snapshot and must not count twice.
    const done = src.buffer.doneTables(batches.map((b) => b.id));
    for (const b of batches) {
      const msg = b.format === "json" ? decodeClientFrame(utf8.decode(b.payload)).message : fromBinary(ClientMessageSchema, b.payload);
      if (msg.message.case !== "cdcBatch") continue;
      const committed = done.get(b.id);
      for (const e of msg.message.value.events) {
        if (!wanted.has(e.table) || committed?.has(e.table)) continue;
        let list = changes.get(e.table);
        if (!list) changes.set(e.table, (list = []));
        list.push({
          operation: OPS[e.operation] ?? "INSERT",
          rowId: e.rowId,
          sequence: e.sequence,
          timestamp: e.timestamp,
          ackedAt: b.receivedAt,
          before: e.before ? rowToJson(e.before) : null,
          after: e.after ? rowToJson(e.after) : null,
        });
      }
    }
  }
  return tables.map((t) => {
    const row = src.catalog.getTable({ namespace: t.namespace, name: t.name });
    const list = (t.namespace.join(".") === src.cdcNamespace && changes.get(t.name)) || [];
    const replaced: Array<[string, string]> = [];
    if (row && list.length > 0) {
      const index = new SqlPrimaryKeyIndex(src.sql, `${t.namespace.join(".")}.${t.name}`);
      for (const loc of index.lookup(list.map((c) => c.rowId)).values()) replaced.push([loc.filePath, loc.pos.toString()]);
    }
    return {
      namespace: t.namespace,
      name: t.name,
      metadataLocation: row?.metadataLocation ?? null,
      metadataJson: row?.metadataJson ?? null,
      buffered: stringifyJson(list),
      replacedPositions: replaced,
      detectTimestamps: src.detectTimestamps,
    };
  });
}
