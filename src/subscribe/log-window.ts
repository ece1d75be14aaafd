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
import type { CatalogDeps } from "../catalog/deps.js";
import type { CatalogStore } from "../catalog/store.js";
import { CHANGELOG_SUFFIX } from "../iceberg/changelog.js";
import { decodeClientFrame } from "../protocol/frames.js";
import { rowFromJson } from "../protocol/json-value.js";
import { parseJson } from "../util/json.js";
import { type ChangelogRow, readChangelogRange } from "./changelog-reader.js";
import { Lru } from "./lru.js";
import { encodeWireEvent, splitBinaryBatch, type WireEvent } from "../protocol/wire-events.js";

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
  /** The catalog (its store) and the warehouse's R2. */
  deps: CatalogDeps;
  /** The namespace CDC tables are written to. */
  namespace: string;
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
  // Payloads are read only when no subscriber decoded the batch yet (DecodedBatches), in this same turn.
  const { batches, complete } = src.buffer.fromPosition(after + 1n, to, WINDOW_BYTES, false);
  // Windows end where a batch ends, so subscribers at one place in the log share each batch's work.
  const last = batches.at(-1);
  if (last && (!complete || last.logStart + BigInt(last.eventCount) - 1n > to)) to = last.logStart + BigInt(last.eventCount) - 1n;
  // Every position of (after, to] in a captured batch? Then no changelog is needed.
  let next = after + 1n;
  for (const b of batches) {
    if (b.logStart > next) break;
    next = b.logStart + BigInt(b.eventCount);
  }
  const changelogs = next <= to ? changelogsOf(src, filter.tables) : [];
  return { after, to, batches, changelogs };
}

/** Where the changelogs of the given source tables (all when null) are, from the catalog. */
export function changelogsOf(src: LogSources, tables: Iterable<string> | null): LogWindow["changelogs"] {
  const ns = [src.namespace];
  const names = tables ? [...tables].map((t) => `${t}${CHANGELOG_SUFFIX}`) : changelogTables(src.deps.store, ns);
  const out: LogWindow["changelogs"] = [];
  for (const name of names) {
    const row = src.deps.store.getTable({ namespace: ns, name });
    if (row) out.push({ table: name.slice(0, -CHANGELOG_SUFFIX.length), metadataLocation: row.metadataLocation, metadataJson: row.metadataJson });
  }
  return out;
}

/** Names of every changelog table of a namespace. */
export function changelogTables(catalog: CatalogStore, ns: string[]): string[] {
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

/** A buffered batch as subscriptions read it: its payload, split (binary) and decoded (when asked). */
export class BatchView {
  private decoded: CdcEvent[] | undefined;
  /** Events in wire form (binary payloads that split), else undefined. */
  readonly wire: WireEvent[] | undefined;

  constructor(
    readonly batch: BufferedBatch,
    readonly payload: Uint8Array,
  ) {
    this.wire = batch.format === "binary" ? splitBinaryBatch(payload) : undefined;
  }

  /** The events as messages (decoded once). */
  messages(): CdcEvent[] {
    if (!this.decoded) {
      const msg = this.batch.format === "json" ? decodeClientFrame(utf8.decode(this.payload)).message : fromBinary(ClientMessageSchema, this.payload);
      this.decoded = msg.message.case === "cdcBatch" ? msg.message.value.events : [];
    }
    return this.decoded;
  }

  /** Table and operation of event i (without decoding when the batch split). */
  head(i: number): { table: string; operation: number } {
    return this.wire ? this.wire[i]! : this.messages()[i]!;
  }

  get count(): number {
    return this.wire ? this.wire.length : this.messages().length;
  }
}

/** Recent buffered batches, shared by every subscription (at most 16 MiB of payloads). */
export class DecodedBatches {
  private readonly cache = new Lru<BatchView>(16 << 20, (v) => v.payload.byteLength + 1);

  /** The view of a buffered batch (its payload read from `buffer` when the window did not carry it). Call in the capturing turn. */
  view(b: BufferedBatch, buffer: DurableBuffer): BatchView {
    let v = this.cache.get(b.id);
    if (v) return v;
    const payload = b.payload.byteLength > 0 ? b.payload : buffer.payloadOf(b);
    if (payload.byteLength !== b.sizeBytes) throw new Error(`buffered batch ${b.id} left the buffer while being read`);
    v = new BatchView(b, payload);
    this.cache.set(b.id, v);
    return v;
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

/**
 * A run of the window's positions with the selected changes in it: one buffered batch, or the
 * positions between batches that only the changelogs hold. `end` is the last position it covers
 * (a cursor after it); `key` names a batch's selection, which other subscribers may share.
 */
export interface Segment {
  key?: string;
  end: bigint;
  /** Positions of the selected changes, in order. */
  positions: bigint[];
  /** Selected changes [from, to) as messages. */
  messages(from: number, to: number): ChangeEvent[];
  /** Selected changes [from, to) as ChangeEvent bytes, when the batch is in wire form and nothing is projected. */
  wire(from: number, to: number): Uint8Array[] | undefined;
}

/** Where readWindow keeps and finds batch selections (the hub's shared cache). */
export interface SelectionCache {
  get(key: string): Segment | undefined;
  set(key: string, segment: Segment): void;
}

/** The selection of one buffered batch after `after`: indices chosen by table and operation, messages and bytes made on demand. */
function batchSegment(v: BatchView, after: bigint, filter: LogFilter, key: string): Segment {
  const b = v.batch;
  const end = b.logStart + BigInt(b.eventCount) - 1n;
  const ackedAt = BigInt(b.receivedAt);
  const picked: number[] = [];
  const positions: bigint[] = [];
  if (ackedAt >= filter.notBefore) {
    for (let i = 0, n = v.count; i < n; i++) {
      const p = b.logStart + BigInt(i);
      if (p <= after) continue;
      const e = v.head(i);
      if (filter.tables && !filter.tables.has(e.table)) continue;
      if (filter.operations && !filter.operations.has(e.operation)) continue;
      picked.push(i);
      positions.push(p);
    }
  }
  let messages: ChangeEvent[] | undefined;
  let wire: Uint8Array[] | undefined;
  const stamp = (ts: bigint) => (ts === 0n ? ackedAt : ts);
  return {
    key, end, positions,
    messages(from, to) {
      messages ??= picked.map((i, k) => {
        const e = v.messages()[i]!;
        return create(ChangeEventSchema, {
          position: positions[k]!, operation: e.operation, table: e.table, rowId: e.rowId,
          before: project(e.before, filter.columns), after: project(e.after, filter.columns), metadata: e.metadata,
          sequence: e.sequence, source: b.sourceId, timestamp: stamp(e.timestamp), ackedAt,
        });
      });
      return messages.slice(from, to);
    },
    wire(from, to) {
      if (!v.wire || filter.columns) return undefined;
      wire ??= picked.map((i, k) => encodeWireEvent(v.wire![i]!, positions[k]!, b.sourceId, stamp(v.wire![i]!.timestamp), ackedAt));
      return wire.slice(from, to);
    },
  };
}

/** A segment of changelog events (messages only). */
function loggedSegment(events: ChangeEvent[], end: bigint): Segment {
  return { end, positions: events.map((e) => e.position), messages: (from, to) => events.slice(from, to), wire: () => undefined };
}

/**
 * Reads a captured window: its segments in log order. The buffered batches are read before the
 * first await, in the turn that captured the window (see the file comment).
 */
export async function readWindow(src: LogSources, w: LogWindow, filter: LogFilter, filterKey: string, decoded: DecodedBatches, cache: SelectionCache): Promise<Segment[]> {
  const held: Segment[] = [];
  const ranges: Array<[bigint, bigint]> = [];
  for (const b of w.batches) {
    const start = b.logStart - 1n > w.after ? b.logStart - 1n : w.after;
    const key = `${b.id}|${start}|${filterKey}`;
    let segment = cache.get(key);
    if (!segment) cache.set(key, (segment = batchSegment(decoded.view(b, src.buffer), start, filter, key)));
    held.push(segment);
    ranges.push([b.logStart, segment.end]);
  }
  const logged: ChangeEvent[] = [];
  const inBatch = (p: bigint) => ranges.some(([lo, hi]) => p >= lo && p <= hi);
  for (const c of w.changelogs) {
    const rows = await readChangelogRange({ deps: src.deps, ...c }, w.after + 1n, w.to, (p) => !inBatch(p));
    for (const r of rows) {
      const event = fromChangelog(c.table, r, filter);
      if (event) logged.push(event);
    }
  }
  logged.sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
  // Interleave: the changelog's positions between batches become segments of their own.
  const out: Segment[] = [];
  let from = w.after;
  let i = 0;
  const gap = (until: bigint) => {
    if (until <= from) return;
    const events: ChangeEvent[] = [];
    while (i < logged.length && logged[i]!.position <= until) events.push(logged[i++]!);
    out.push(loggedSegment(events, until));
    from = until;
  };
  held.forEach((h, k) => {
    gap(ranges[k]![0] - 1n);
    out.push(h);
    from = h.end;
  });
  gap(w.to);
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
