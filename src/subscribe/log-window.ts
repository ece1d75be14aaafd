/**
 * One window of the warehouse's log, as a subscription reads it: the changes at positions
 * (after, to], from the durable buffer where their batch is still buffered and from the
 * changelog tables otherwise. What the window covers is captured in ONE synchronous turn (the
 * buffered batches and the changelogs' pointers): a flush moves events from the buffer to a
 * changelog and drops their batch in one transaction, so every position of the window is in one
 * of the two captured views and none is read twice.
 */
import { create } from "@bufbuild/protobuf";
import { fromBinary } from "@bufbuild/protobuf";
import { type CdcEvent, ClientMessageSchema, Operation } from "../../gen/dolake/cdc/v1/cdc_pb.js";
import type { Row } from "../../gen/dolake/cdc/v1/value_pb.js";
import { type ChangeEvent, ChangeEventSchema } from "../../gen/dolake/subscribe/v1/subscribe_pb.js";
import type { BufferedBatch, DurableBuffer } from "../buffer/durable-buffer.js";
import type { Warehouse } from "../catalog/names.js";
import type { CatalogStore } from "../catalog/store.js";
import { CHANGELOG_SUFFIX } from "../iceberg/changelog.js";
import { decodeClientFrame } from "../protocol/frames.js";
import { rowFromJson } from "../protocol/json-value.js";
import { parseJson } from "../util/json.js";
import { type ChangelogRow, readChangelogRange } from "./changelog-reader.js";

/** What a subscription selects. */
export interface LogFilter {
  /** Source tables, or null for all. */
  tables: Set<string> | null;
  /** Operations, or null for all. */
  operations: Set<Operation> | null;
  /** Columns of before/after to keep, or null for all. */
  columns: Set<string> | null;
  /** Leave out changes acked before this (epoch ms): subscriptions started from a timestamp. */
  notBefore: bigint;
}

/** What the log is read from (the DoLake object's parts). */
export interface LogSources {
  buffer: DurableBuffer;
  catalog: CatalogStore;
  /** The namespace CDC tables are written to. */
  namespace: string;
  bucket: R2Bucket;
  warehouse: Warehouse;
}

/** A window captured in one synchronous turn. */
export interface LogWindow {
  after: bigint;
  to: bigint;
  batches: BufferedBatch[];
  /** Changelogs to read the positions no captured batch holds (empty when the batches hold all). */
  changelogs: Array<{ table: string; metadataLocation: string; metadataJson: string | null }>;
}

/** Positions one window spans at most; and buffered bytes it decodes at most (at least one batch). */
export const WINDOW_POSITIONS = 10_000n;
export const WINDOW_BYTES = 4 << 20;

/** Captures the window after `after` (undefined when nothing was acked after it). Synchronous on purpose. */
export function captureWindow(src: LogSources, after: bigint, filter: LogFilter): LogWindow | undefined {
  const head = src.buffer.logBounds().next - 1n;
  if (after >= head) return undefined;
  let to = head < after + WINDOW_POSITIONS ? head : after + WINDOW_POSITIONS;
  const { batches, complete } = src.buffer.fromPosition(after + 1n, to, WINDOW_BYTES);
  if (!complete) {
    const last = batches.at(-1)!;
    to = last.logStart + BigInt(last.eventCount) - 1n;
  }
  // Every position of (after, to] in a captured batch? Then no changelog is needed.
  let next = after + 1n;
  for (const b of batches) {
    if (b.logStart > next) break;
    next = b.logStart + BigInt(b.eventCount);
  }
  const changelogs: LogWindow["changelogs"] = [];
  if (next <= to) {
    const ns = [src.namespace];
    const names = filter.tables ? [...filter.tables].map((t) => `${t}${CHANGELOG_SUFFIX}`) : allChangelogs(src.catalog, ns);
    for (const name of names) {
      const row = src.catalog.getTable({ namespace: ns, name });
      if (row) changelogs.push({ table: name.slice(0, -CHANGELOG_SUFFIX.length), metadataLocation: row.metadataLocation, metadataJson: row.metadataJson });
    }
  }
  return { after, to, batches, changelogs };
}

function allChangelogs(catalog: CatalogStore, ns: string[]): string[] {
  const out: string[] = [];
  for (let after: string | undefined; ; ) {
    const page = catalog.listTables(ns, after, 1000);
    out.push(...page.filter((n) => n.endsWith(CHANGELOG_SUFFIX)));
    if (page.length < 1000) return out;
    after = page.at(-1);
  }
}

const utf8 = new TextDecoder();
const OPERATION: Record<string, Operation> = { INSERT: Operation.INSERT, UPDATE: Operation.UPDATE, DELETE: Operation.DELETE };

/** Decoded events of buffered batches, shared by every subscription (a few recent batches). */
export class DecodedBatches {
  private readonly cache = new Map<number, CdcEvent[]>();
  constructor(private readonly capacity = 32) {}

  /** The events of a buffered batch, decoded once. */
  events(b: BufferedBatch): CdcEvent[] {
    let events = this.cache.get(b.id);
    if (events) return events;
    const msg = b.format === "json" ? decodeClientFrame(utf8.decode(b.payload)).message : fromBinary(ClientMessageSchema, b.payload);
    events = msg.message.case === "cdcBatch" ? msg.message.value.events : [];
    this.cache.set(b.id, events);
    if (this.cache.size > this.capacity) this.cache.delete(this.cache.keys().next().value!);
    return events;
  }
}

function project(row: Row | undefined, columns: Set<string> | null): Row | undefined {
  if (!row || !columns) return row;
  const fields: Row["fields"] = {};
  for (const [k, v] of Object.entries(row.fields)) if (columns.has(k)) fields[k] = v;
  return { ...row, fields };
}

function jsonRow(text: string | null, columns: Set<string> | null): Row | undefined {
  return text === null ? undefined : project(rowFromJson(parseJson(text), "row"), columns);
}

/** Reads a captured window: the selected changes at (after, to], in log order. */
export async function readWindow(src: LogSources, w: LogWindow, filter: LogFilter, decoded: DecodedBatches): Promise<ChangeEvent[]> {
  const out: ChangeEvent[] = [];
  const held: Array<[bigint, bigint]> = [];
  for (const b of w.batches) {
    held.push([b.logStart, b.logStart + BigInt(b.eventCount) - 1n]);
    const ackedAt = BigInt(b.receivedAt);
    if (ackedAt < filter.notBefore) continue;
    let position = b.logStart;
    for (const e of decoded.events(b)) {
      const p = position++;
      if (p <= w.after || p > w.to) continue;
      if (filter.tables && !filter.tables.has(e.table)) continue;
      if (filter.operations && !filter.operations.has(e.operation)) continue;
      out.push(create(ChangeEventSchema, {
        position: p, operation: e.operation, table: e.table, rowId: e.rowId,
        before: project(e.before, filter.columns), after: project(e.after, filter.columns), metadata: e.metadata,
        sequence: e.sequence, source: b.sourceId, timestamp: e.timestamp === 0n ? ackedAt : e.timestamp, ackedAt,
      }));
    }
  }
  const inBatch = (p: bigint) => held.some(([lo, hi]) => p >= lo && p <= hi);
  for (const c of w.changelogs) {
    const rows = await readChangelogRange({ bucket: src.bucket, warehouse: src.warehouse, ...c }, w.after + 1n, w.to, (p) => !inBatch(p));
    for (const r of rows) {
      const event = fromChangelog(c.table, r, filter);
      if (event) out.push(event);
    }
  }
  if (w.changelogs.length > 0) out.sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
  return out;
}

function fromChangelog(table: string, r: ChangelogRow, filter: LogFilter): ChangeEvent | undefined {
  const operation = OPERATION[r.operation] ?? Operation.UNSPECIFIED;
  if (filter.operations && !filter.operations.has(operation)) return undefined;
  if (r.ackedAt < filter.notBefore) return undefined;
  return create(ChangeEventSchema, {
    position: r.position, operation, table, rowId: r.rowId,
    before: jsonRow(r.before, filter.columns), after: jsonRow(r.after, filter.columns), metadata: jsonRow(r.metadata, null),
    sequence: r.sequence, source: r.source, timestamp: r.timestamp, ackedAt: r.ackedAt,
  });
}
