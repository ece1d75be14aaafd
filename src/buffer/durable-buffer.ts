/**
 * The durable buffer: CDC batches in the Durable Object's SQLite, with each source's high-water
 * mark. Invariant: a batch is acked only after `append` returned, i.e. after it and the new
 * high-water mark were committed in one SQLite transaction (the DO's output gate also holds the
 * ack until the write is durable). Flushes remove batches in the same transaction that swaps the
 * Iceberg table pointers (see src/flush).
 *
 * Every acked event gets a position in the warehouse's log: a batch's events take the positions
 * `log_start`, `log_start + 1`, ... in the same transaction as the append, so positions are dense,
 * start at 1, follow the ack order across all sources, and are never reused (`cdc_log` keeps the
 * next one after the batches are gone). Subscribers' cursors are log positions (src/subscribe).
 *
 * 64-bit sequences are stored as SQLite INTEGERs (exact int64) and move in and out as decimal
 * text (CAST), because the DO SQL API only carries JS numbers.
 */

/** SQLite payloads are chunked: a DO SQLite row holds at most 2 MB. */

/** How a buffered payload is encoded: the binary ClientMessage, or the JSON frame's UTF-8 text as sent. */
export type PayloadFormat = "binary" | "json";
const CHUNK_BYTES = 1024 * 1024;

/** What the buffer knows of a source. */
export interface SourceState {
  sourceId: string;
  shardName: string;
  /** Highest event sequence durably accepted. */
  lastAckSequence: bigint;
  /** Highest event sequence in a committed Iceberg snapshot. */
  lastPersistedSequence: bigint;
  /** sequenceNumber of the last accepted batch. */
  lastBatchNumber: bigint;
}

/** A batch to append. */
export interface NewBatch {
  sourceId: string;
  shardName: string;
  batchNumber: bigint;
  firstSequence: bigint;
  lastSequence: bigint;
  eventCount: number;
  /** The frame as it came (a binary ClientMessage or JSON text), decoded again at flush. */
  payload: Uint8Array;
  format: PayloadFormat;
  receivedAt: number;
}

/** A buffered batch, as a flush reads it. */
export interface BufferedBatch {
  id: number;
  sourceId: string;
  batchNumber: bigint;
  firstSequence: bigint;
  lastSequence: bigint;
  eventCount: number;
  sizeBytes: number;
  receivedAt: number;
  payload: Uint8Array;
  format: PayloadFormat;
  /** Log position of the batch's first event (its events are dense from there). */
  logStart: bigint;
}

/** Where the log stands. */
export interface LogBounds {
  /** The position the next acked event gets (1 when nothing was ever acked). */
  next: bigint;
  /** Log position of the oldest buffered event, or undefined with an empty buffer. */
  oldestBuffered: bigint | undefined;
  /** The oldest position still readable (in the buffer or a changelog); 1 until history is trimmed. */
  retainedFrom: bigint;
}

/** Totals of what is buffered. */
export interface BufferTotals {
  batchCount: number;
  eventCount: number;
  bytes: number;
  oldestAt: number | undefined;
  newestAt: number | undefined;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS cdc_batch_tables_done (
  batch_id INTEGER NOT NULL,
  table_name TEXT NOT NULL,
  PRIMARY KEY (batch_id, table_name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cdc_sources (
  source_id TEXT PRIMARY KEY,
  shard_name TEXT NOT NULL DEFAULT '',
  last_ack_seq INTEGER NOT NULL DEFAULT 0,
  last_persisted_seq INTEGER NOT NULL DEFAULT 0,
  last_batch_number INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS cdc_batches (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  source_id TEXT NOT NULL,
  batch_number INTEGER NOT NULL,
  first_seq INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  event_count INTEGER NOT NULL,
  size_bytes INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  log_start INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS cdc_log (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  next_position INTEGER NOT NULL,
  retained_from INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS cdc_batch_chunks (
  batch_id INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (batch_id, idx)
);
`;

type Row = Record<string, SqlStorageValue>;
const BATCH_COLUMNS =
  "SELECT id, source_id, CAST(batch_number AS TEXT) AS bn, CAST(first_seq AS TEXT) AS f, CAST(last_seq AS TEXT) AS l, event_count, size_bytes, received_at, format, CAST(log_start AS TEXT) AS ls FROM cdc_batches";

const big = (v: SqlStorageValue | undefined): bigint => BigInt((v as string | number | null) ?? 0);

/** The durable buffer over a Durable Object's SQLite storage. */
export class DurableBuffer {
  private readonly sql: SqlStorage;
  private totals: BufferTotals;

  constructor(private readonly storage: DurableObjectStorage) {
    this.sql = storage.sql;
    this.sql.exec(SCHEMA);
    // v0.1 buffers had binary payloads only: add the format column where it is missing.
    const columns = this.sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('cdc_batches')").toArray();
    if (!columns.some((c) => c.name === "format")) this.sql.exec("ALTER TABLE cdc_batches ADD COLUMN format INTEGER NOT NULL DEFAULT 0");
    if (!columns.some((c) => c.name === "log_start")) this.addLogPositions();
    this.sql.exec("INSERT OR IGNORE INTO cdc_log (id, next_position) VALUES (1, 1)");
    this.nextPosition = BigInt(this.sql.exec<{ n: string }>("SELECT CAST(next_position AS TEXT) AS n FROM cdc_log WHERE id = 1").one().n);
    this.totals = this.computeTotals();
  }

  private nextPosition: bigint;

  /** Buffers from before log positions existed: their batches get positions now, in arrival order. */
  private addLogPositions(): void {
    this.storage.transactionSync(() => {
      this.sql.exec("ALTER TABLE cdc_batches ADD COLUMN log_start INTEGER NOT NULL DEFAULT 0");
      const known = this.sql.exec<{ n: string }>("SELECT CAST(next_position AS TEXT) AS n FROM cdc_log WHERE id = 1").toArray()[0];
      let next = known ? Number(known.n) : 1;
      for (const r of this.sql.exec<{ id: number; event_count: number }>("SELECT id, event_count FROM cdc_batches ORDER BY id").toArray()) {
        this.sql.exec("UPDATE cdc_batches SET log_start = ? WHERE id = ?", next, r.id);
        next += Number(r.event_count);
      }
      this.sql.exec("INSERT INTO cdc_log (id, next_position) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET next_position = excluded.next_position", next);
    });
  }

  /** Where the log stands (next position, oldest buffered one). */
  logBounds(): LogBounds {
    const r = this.sql
      .exec<{ o: string | null; r: string }>("SELECT (SELECT CAST(MIN(log_start) AS TEXT) FROM cdc_batches) AS o, CAST(retained_from AS TEXT) AS r FROM cdc_log WHERE id = 1")
      .one();
    return { next: this.nextPosition, oldestBuffered: r.o === null ? undefined : BigInt(r.o), retainedFrom: BigInt(r.r) };
  }

  private computeTotals(): BufferTotals {
    const r = this.sql
      .exec("SELECT COUNT(*) AS n, COALESCE(SUM(event_count),0) AS e, COALESCE(SUM(size_bytes),0) AS b, MIN(received_at) AS o, MAX(received_at) AS w FROM cdc_batches")
      .one();
    return {
      batchCount: Number(r.n),
      eventCount: Number(r.e),
      bytes: Number(r.b),
      oldestAt: r.o === null ? undefined : Number(r.o),
      newestAt: r.w === null ? undefined : Number(r.w),
    };
  }

  /** Totals of what is buffered now. */
  stats(): BufferTotals {
    return { ...this.totals };
  }

  /** The state of one source, if it ever sent an accepted batch. */
  source(sourceId: string): SourceState | undefined {
    const rows = this.sql
      .exec<Row>(
        "SELECT source_id, shard_name, CAST(last_ack_seq AS TEXT) AS a, CAST(last_persisted_seq AS TEXT) AS p, CAST(last_batch_number AS TEXT) AS b FROM cdc_sources WHERE source_id = ?",
        sourceId,
      )
      .toArray();
    return rows[0] ? toSource(rows[0]) : undefined;
  }

  /** Every known source. */
  sources(): SourceState[] {
    return this.sql
      .exec<Row>(
        "SELECT source_id, shard_name, CAST(last_ack_seq AS TEXT) AS a, CAST(last_persisted_seq AS TEXT) AS p, CAST(last_batch_number AS TEXT) AS b FROM cdc_sources ORDER BY source_id",
      )
      .toArray()
      .map(toSource);
  }

  /**
   * Appends a batch and raises its source's high-water mark to batch.lastSequence, in one
   * transaction. The caller checked the sequence against `source()` in the same synchronous turn.
   */
  append(batch: NewBatch): { id: number; logStart: bigint } {
    const size = batch.payload.byteLength;
    const logStart = this.nextPosition;
    const id = this.storage.transactionSync(() => {
      const row = this.sql
        .exec<Row>(
          "INSERT INTO cdc_batches (source_id, batch_number, first_seq, last_seq, event_count, size_bytes, received_at, format, log_start) VALUES (?, CAST(? AS INTEGER), CAST(? AS INTEGER), CAST(? AS INTEGER), ?, ?, ?, ?, CAST(? AS INTEGER)) RETURNING id",
          batch.sourceId,
          batch.batchNumber.toString(),
          batch.firstSequence.toString(),
          batch.lastSequence.toString(),
          batch.eventCount,
          size,
          batch.receivedAt,
          batch.format === "json" ? 1 : 0,
          logStart.toString(),
        )
        .one();
      this.sql.exec("UPDATE cdc_log SET next_position = CAST(? AS INTEGER) WHERE id = 1", (logStart + BigInt(batch.eventCount)).toString());
      const batchId = Number(row.id);
      for (let i = 0, idx = 0; i < size || idx === 0; i += CHUNK_BYTES, idx++) {
        const chunk = batch.payload.subarray(i, Math.min(size, i + CHUNK_BYTES));
        this.sql.exec("INSERT INTO cdc_batch_chunks (batch_id, idx, data) VALUES (?, ?, ?)", batchId, idx, chunk);
      }
      this.sql.exec(
        `INSERT INTO cdc_sources (source_id, shard_name, last_ack_seq, last_batch_number, updated_at)
         VALUES (?, ?, CAST(? AS INTEGER), CAST(? AS INTEGER), ?)
         ON CONFLICT (source_id) DO UPDATE SET shard_name = excluded.shard_name, last_ack_seq = excluded.last_ack_seq,
           last_batch_number = excluded.last_batch_number, updated_at = excluded.updated_at`,
        batch.sourceId,
        batch.shardName,
        batch.lastSequence.toString(),
        batch.batchNumber.toString(),
        batch.receivedAt,
      );
      return batchId;
    });
    this.nextPosition = logStart + BigInt(batch.eventCount);
    const t = this.totals;
    t.batchCount += 1;
    t.eventCount += batch.eventCount;
    t.bytes += size;
    t.oldestAt ??= batch.receivedAt;
    t.newestAt = batch.receivedAt;
    return { id, logStart };
  }

  /** The oldest buffered batches, in arrival order, up to about maxBytes (at least one); without payloads when `withPayload` is false (read them with payloadOf). */
  take(maxBytes: number, afterId = 0, withPayload = true): BufferedBatch[] {
    return this.read(maxBytes, this.sql.exec<Row>(`${BATCH_COLUMNS} WHERE id > ? ORDER BY id`, afterId), withPayload).batches;
  }

  /**
   * Buffered batches holding log positions in [from, to], in log order, up to about maxBytes (at
   * least one); `complete` is false when maxBytes left some out.
   */
  fromPosition(from: bigint, to: bigint, maxBytes: number, withPayload = true): { batches: BufferedBatch[]; complete: boolean } {
    const metas = this.sql.exec<Row>(`${BATCH_COLUMNS} WHERE log_start + event_count > CAST(? AS INTEGER) AND log_start <= CAST(? AS INTEGER) ORDER BY id`, from.toString(), to.toString());
    return this.read(maxBytes, metas, withPayload);
  }

  /** One buffered batch without its payload, or undefined when it has left the buffer. */
  batchMeta(id: number): BufferedBatch | undefined {
    return this.read(Number.MAX_SAFE_INTEGER, this.sql.exec<Row>(`${BATCH_COLUMNS} WHERE id = ?`, id), false).batches[0];
  }

  /** The payload of a batch read without it (empty when the batch has left the buffer since). */
  payloadOf(batch: BufferedBatch): Uint8Array {
    return this.payload(batch.id, batch.sizeBytes);
  }

  private read(maxBytes: number, metas: Iterable<Row>, withPayload = true): { batches: BufferedBatch[]; complete: boolean } {
    const out: BufferedBatch[] = [];
    let bytes = 0;
    let complete = true;
    for (const m of metas) {
      if (out.length > 0 && bytes + Number(m.size_bytes) > maxBytes) {
        complete = false;
        break;
      }
      bytes += Number(m.size_bytes);
      out.push({
        id: Number(m.id),
        sourceId: String(m.source_id),
        batchNumber: big(m.bn),
        firstSequence: big(m.f),
        lastSequence: big(m.l),
        eventCount: Number(m.event_count),
        sizeBytes: Number(m.size_bytes),
        receivedAt: Number(m.received_at),
        payload: new Uint8Array(0),
        format: Number(m.format) === 1 ? "json" : "binary",
        logStart: big(m.ls),
      });
    }
    if (withPayload) for (const b of out) b.payload = this.payload(b.id, b.sizeBytes);
    return { batches: out, complete };
  }

  private payload(batchId: number, size: number): Uint8Array {
    const out = new Uint8Array(size);
    let offset = 0;
    for (const r of this.sql.exec<Row>("SELECT data FROM cdc_batch_chunks WHERE batch_id = ? ORDER BY idx", batchId)) {
      const chunk = new Uint8Array(r.data as ArrayBuffer);
      out.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return out;
  }

  /**
   * Removes flushed batches and records what each source now has persisted. Must run inside the
   * storage.transactionSync that commits the Iceberg pointers (all or nothing).
   */
  removeFlushed(batches: BufferedBatch[]): Map<string, { sequence: bigint; batchNumber: bigint }> {
    const persisted = new Map<string, { sequence: bigint; batchNumber: bigint }>();
    for (const b of batches) {
      this.sql.exec("DELETE FROM cdc_batch_chunks WHERE batch_id = ?", b.id);
      this.sql.exec("DELETE FROM cdc_batches WHERE id = ?", b.id);
      this.sql.exec("DELETE FROM cdc_batch_tables_done WHERE batch_id = ?", b.id);
    }
    // A source's persisted mark stops before its oldest batch still buffered (one whose table is
    // failing may stay behind later batches that flushed); with none left, everything acked is in.
    for (const sourceId of new Set(batches.map((b) => b.sourceId))) {
      const r = this.sql
        .exec<{ f: string | null; a: string; n: string }>(
          "SELECT (SELECT CAST(MIN(first_seq) AS TEXT) FROM cdc_batches WHERE source_id = ?1) AS f, CAST(last_ack_seq AS TEXT) AS a, CAST(last_batch_number AS TEXT) AS n FROM cdc_sources WHERE source_id = ?1",
          sourceId,
        )
        .toArray()[0];
      if (!r) continue;
      if (r.f === null) {
        persisted.set(sourceId, { sequence: BigInt(r.a), batchNumber: BigInt(r.n) });
        continue;
      }
      const mark = BigInt(r.f) - 1n;
      const carrier = batches.filter((b) => b.sourceId === sourceId && b.lastSequence <= mark).sort((x, y) => (x.lastSequence < y.lastSequence ? 1 : -1))[0];
      if (carrier) persisted.set(sourceId, { sequence: mark, batchNumber: carrier.batchNumber });
    }
    for (const [sourceId, p] of persisted) {
      this.sql.exec(
        "UPDATE cdc_sources SET last_persisted_seq = MAX(last_persisted_seq, CAST(? AS INTEGER)) WHERE source_id = ?",
        p.sequence.toString(),
        sourceId,
      );
    }
    return persisted;
  }

  /** Records that the events of `table` in these batches are committed (inside that commit's transaction). */
  markTableDone(batchIds: Iterable<number>, table: string): void {
    for (const id of batchIds) this.sql.exec("INSERT OR IGNORE INTO cdc_batch_tables_done (batch_id, table_name) VALUES (?, ?)", id, table);
  }

  /** Tables already committed from each of these batches (a batch stays until all its tables are). */
  doneTables(batchIds: readonly number[]): Map<number, Set<string>> {
    const out = new Map<number, Set<string>>();
    for (let i = 0; i < batchIds.length; i += 90) {
      const chunk = batchIds.slice(i, i + 90);
      const rows = this.sql.exec<{ batch_id: number; table_name: string }>(
        `SELECT batch_id, table_name FROM cdc_batch_tables_done WHERE batch_id IN (${chunk.map(() => "?").join(",")})`,
        ...chunk,
      );
      for (const r of rows) {
        let set = out.get(Number(r.batch_id));
        if (!set) out.set(Number(r.batch_id), (set = new Set()));
        set.add(r.table_name);
      }
    }
    return out;
  }

  /** Recomputes the in-memory totals (after a flush committed or rolled back). */
  refreshTotals(): void {
    this.totals = this.computeTotals();
  }
}

function toSource(r: Row): SourceState {
  return {
    sourceId: String(r.source_id),
    shardName: String(r.shard_name),
    lastAckSequence: big(r.a),
    lastPersistedSequence: big(r.p),
    lastBatchNumber: big(r.b),
  };
}
