/**
 * What a query needs from the DoLake object, read so it is consistent: per table, the catalog
 * pointer (metadata location, cached metadata text) and the primary-key index locations of the
 * rows buffered changes replace, plus the buffered (acked, unflushed) batches that hold changes of
 * those tables. A flush swaps the pointer, updates the index and drops its batches in one
 * transaction, so no interleaving can show a half-flushed state.
 *
 * The read runs in short synchronous steps with the object's event loop free between them (acks go
 * on): the first step takes the pointers and the list of buffered batches; later steps split
 * payloads (binary frames by their wire layout, JSON with the native parser) far enough to find
 * tables and row ids, and look the row ids up in the index, a page at a time; the last step checks
 * that no requested table's pointer moved meanwhile. Every change that could make the steps
 * disagree (a flush committing a table, a compaction's swap, another engine's commit) moves the
 * pointer of the table it touches, so an unchanged pointer proves the steps consistent; a moved
 * one restarts the read (after a few restarts, one synchronous read).
 *
 * The answer names the batches, not their bytes: the Worker fetches their payloads in pages
 * (`readBatchPayloads`, each page checks the pointers again) and decodes them itself
 * (src/query/buffered-state.ts), so neither an RPC value (32 MiB at most) nor the object's memory
 * has to hold the whole buffer, and a query's CPU stays off the ack path.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { ClientMessageSchema } from "../../gen/dolake/cdc/v1/cdc_pb.js";
import type { BufferedBatch, DurableBuffer } from "../buffer/durable-buffer.js";
import type { CatalogStore } from "../catalog/store.js";
import { SqlPrimaryKeyIndex } from "../flush/pk-index.js";
import { splitBinaryBatch } from "../protocol/wire-events.js";

/** A table named by a query. */
export interface TableRequest {
  namespace: string[];
  name: string;
}

/** One table's pointer and the snapshot positions its buffered changes replace (the object's part). */
export interface TablePointer extends TableRequest {
  metadataLocation: string | null;
  metadataJson: string | null;
  /** Per data file path, the positions of snapshot rows that buffered changes replace or delete. */
  replaced: Array<[string, number[]]>;
  detectTimestamps: boolean;
}

/** A buffered batch holding changes of the requested tables (its bytes are fetched separately). */
export interface BatchRef {
  id: number;
  format: "binary" | "json";
  sizeBytes: number;
  receivedAt: number;
  /** Tables already committed from this batch: their events are in the snapshot. */
  committed: string[];
}

/** The object's answer: pointers of the tables asked for and the batches holding their changes. */
export interface RawQueryState {
  tables: TablePointer[];
  batches: BatchRef[];
  /** The namespace CDC tables are written to. */
  cdcNamespace: string;
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

/** Bytes of buffered payload one step splits (about 2,000 events of 250 bytes). */
const PAGE_BYTES = 512 * 1024;
/** Row ids one step looks up in the primary-key index. */
const LOOKUP_PAGE = 5000;
/** Restarts of a read whose tables were committed meanwhile, before one synchronous read. */
const PAGED_ATTEMPTS = 3;

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

function normalize(src: StateSources, requested: TableRequest[]): TableRequest[] {
  return requested.map((t) => (t.namespace.length === 0 ? { namespace: [src.cdcNamespace], name: t.name } : t));
}

function pointerOf(src: StateSources, t: TableRequest): string | null {
  return src.catalog.getTable({ namespace: t.namespace, name: t.name })?.metadataLocation ?? null;
}

/** Whether any table's pointer differs from `pointers` (then steps read so far may disagree). */
function moved(src: StateSources, tables: readonly TableRequest[], pointers: ReadonlyArray<string | null>): boolean {
  return tables.some((t, k) => pointerOf(src, t) !== pointers[k]);
}

/** One read in progress: what the steps gather. */
class Gather {
  readonly rowIds = new Map<string, Set<string>>();
  readonly batches: BatchRef[] = [];
  readonly wanted: Set<string>;

  constructor(
    readonly src: StateSources,
    readonly tables: TableRequest[],
  ) {
    this.wanted = new Set(tables.filter((t) => this.inCdc(t)).map((t) => t.name));
  }

  inCdc(t: TableRequest): boolean {
    return t.namespace.join(".") === this.src.cdcNamespace;
  }

  /** Notes the row ids of the batch's events of wanted tables not yet committed from it; false when the batch left the buffer. */
  add(b: BufferedBatch, done: Map<number, Set<string>>, payload = this.src.buffer.payloadOf(b)): boolean {
    if (payload.byteLength !== b.sizeBytes) return false;
    const committed = done.get(b.id);
    let holds = false;
    for (const e of eventKeys(b.format, payload)) {
      if (!this.wanted.has(e.table) || committed?.has(e.table)) continue;
      holds = true;
      let ids = this.rowIds.get(e.table);
      if (!ids) this.rowIds.set(e.table, (ids = new Set()));
      ids.add(e.rowId);
    }
    if (holds) this.batches.push({ id: b.id, format: b.format, sizeBytes: b.sizeBytes, receivedAt: b.receivedAt, committed: [...(committed ?? [])] });
    return true;
  }

  /** Row ids of the k-th table to look up (none for tables outside the CDC namespace or not yet created). */
  idsOf(k: number, exists: boolean): string[] {
    const t = this.tables[k]!;
    return exists && this.inCdc(t) ? [...(this.rowIds.get(t.name) ?? [])] : [];
  }

  lookup(k: number, ids: string[], into: Map<string, number[]>): void {
    const t = this.tables[k]!;
    const index = new SqlPrimaryKeyIndex(this.src.sql, `${t.namespace.join(".")}.${t.name}`);
    for (const loc of index.lookup(ids).values()) {
      let l = into.get(loc.filePath);
      if (!l) into.set(loc.filePath, (l = []));
      l.push(Number(loc.pos));
    }
  }

  answer(rows: Array<{ metadataLocation: string; metadataJson: string | null } | undefined>, replaced: Array<Map<string, number[]>>): RawQueryState {
    return {
      cdcNamespace: this.src.cdcNamespace,
      batches: this.batches,
      tables: this.tables.map((t, k) => ({
        namespace: t.namespace, name: t.name, metadataLocation: rows[k]?.metadataLocation ?? null, metadataJson: rows[k]?.metadataJson ?? null,
        replaced: [...replaced[k]!], detectTimestamps: this.src.detectTimestamps,
      })),
    };
  }
}

/** The state of `tables` read in short steps, `pause()` between them (see the file comment). */
export async function readQueryStatePaged(src: StateSources, requested: TableRequest[], pause: () => Promise<void>): Promise<RawQueryState & { attempts: number }> {
  const tables = normalize(src, requested);
  for (let attempt = 1; attempt <= PAGED_ATTEMPTS; attempt++) {
    // Step 1: pointers and the batches buffered now (later acks are not part of this read).
    const g = new Gather(src, tables);
    const rows = tables.map((t) => src.catalog.getTable({ namespace: t.namespace, name: t.name }));
    const pointers = rows.map((r) => r?.metadataLocation ?? null);
    const metas = g.wanted.size > 0 && src.buffer.stats().batchCount > 0 ? src.buffer.take(Number.MAX_SAFE_INTEGER, 0, false) : [];
    const done = src.buffer.doneTables(metas.map((b) => b.id));
    let stale = false;
    for (let i = 0; i < metas.length && !stale; ) {
      for (let bytes = 0; i < metas.length && (bytes === 0 || bytes + metas[i]!.sizeBytes <= PAGE_BYTES); i++) {
        bytes += metas[i]!.sizeBytes;
        if (!g.add(metas[i]!, done)) {
          stale = true; // flushed away meanwhile: a pointer moved too
          break;
        }
      }
      await pause();
      stale ||= moved(src, tables, pointers);
    }
    const replaced = tables.map(() => new Map<string, number[]>());
    for (let k = 0; k < tables.length && !stale; k++) {
      const ids = g.idsOf(k, rows[k] !== undefined);
      for (let j = 0; j < ids.length && !stale; j += LOOKUP_PAGE) {
        g.lookup(k, ids.slice(j, j + LOOKUP_PAGE), replaced[k]!);
        await pause();
        stale ||= moved(src, tables, pointers);
      }
    }
    if (!stale && !moved(src, tables, pointers)) return { ...g.answer(rows, replaced), attempts: attempt };
  }
  return { ...readQueryState(src, requested), attempts: PAGED_ATTEMPTS + 1 };
}

/** Reads the state of `tables` in one synchronous turn: nothing may interleave (see the file comment). */
export function readQueryState(src: StateSources, requested: TableRequest[]): RawQueryState {
  const tables = normalize(src, requested);
  const g = new Gather(src, tables);
  const rows = tables.map((t) => src.catalog.getTable({ namespace: t.namespace, name: t.name }));
  if (g.wanted.size > 0 && src.buffer.stats().batchCount > 0) {
    const metas = src.buffer.take(Number.MAX_SAFE_INTEGER, 0, false);
    const done = src.buffer.doneTables(metas.map((b) => b.id));
    for (const b of metas) g.add(b, done);
  }
  const replaced = tables.map((_, k) => {
    const into = new Map<string, number[]>();
    const ids = g.idsOf(k, rows[k] !== undefined);
    for (let j = 0; j < ids.length; j += LOOKUP_PAGE) g.lookup(k, ids.slice(j, j + LOOKUP_PAGE), into);
    return into;
  });
  return g.answer(rows, replaced);
}

/**
 * Payloads of buffered batches for a state read earlier (one page of the hand-over), in `ids`
 * order; null when a table's pointer moved since (or a batch left the buffer): the read is stale,
 * start it again.
 */
export function readBatchPayloads(src: StateSources, tables: ReadonlyArray<TableRequest & { metadataLocation: string | null }>, ids: readonly number[]): Uint8Array[] | null {
  if (moved(src, tables, tables.map((t) => t.metadataLocation))) return null;
  const out: Uint8Array[] = [];
  for (const id of ids) {
    const b = src.buffer.batchMeta(id);
    if (!b) return null;
    out.push(src.buffer.payloadOf(b));
  }
  return out;
}
