/**
 * The outbox and the replication slots, in the source object's own SQLite.
 *
 * The outbox row id (`seq`, AUTOINCREMENT: never reused, even after trimming) is the event
 * sequence DoLake deduplicates on. Row ids of committed rows are consecutive: a rolled-back
 * transaction rolls back its rows and the AUTOINCREMENT counter with them.
 *
 * A slot is a durable position per destination: the last sequence that destination acked as
 * durable. The outbox is trimmed only behind the lowest slot. 64-bit values are read as text
 * (the Durable Object's SQL API returns numbers) and held as bigint.
 */

/** Prefix of every table and trigger source CDC owns. */
export const SYSTEM_PREFIX = "dolake_cdc_";
/** The outbox table. */
export const OUTBOX_TABLE = `${SYSTEM_PREFIX}outbox`;
const SLOTS_TABLE = `${SYSTEM_PREFIX}slots`;

/** One captured change, as the triggers wrote it. */
export interface OutboxEvent {
  sequence: bigint;
  /** Commit time, Unix ms. */
  timestamp: number;
  table: string;
  operation: "INSERT" | "UPDATE" | "DELETE";
  rowId: string;
  /** JSON text of the row before (UPDATE, DELETE). */
  before: string | null;
  /** JSON text of the row after (INSERT, UPDATE). */
  after: string | null;
}

/** A replication slot: where one destination is. */
export interface Slot {
  name: string;
  /** Last sequence the destination acked as durable. */
  acked: bigint;
  /** Last sequence the destination reported in a committed snapshot (0 when unknown). */
  persisted: bigint;
  /** When `acked` last moved, Unix ms (0: never). */
  updatedAt: number;
}

/** The outbox and slots of one source object. */
export class Outbox {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS ${OUTBOX_TABLE} (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL, tbl TEXT NOT NULL, op TEXT NOT NULL,
      row_id TEXT NOT NULL, before TEXT, after TEXT)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS ${SLOTS_TABLE} (
      name TEXT PRIMARY KEY, acked INTEGER NOT NULL, persisted INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL DEFAULT 0)`);
  }

  /** Creates a slot at `from` (default: everything not yet trimmed is still to send); no-op if it exists. */
  createSlot(name: string, from?: bigint): Slot {
    const start = from ?? this.oldest() - 1n;
    this.sql.exec(`INSERT OR IGNORE INTO ${SLOTS_TABLE} (name, acked) VALUES (?, ?)`, name, start.toString());
    return this.slot(name)!;
  }

  /** A slot, or undefined. */
  slot(name: string): Slot | undefined {
    const r = this.sql
      .exec<{ name: string; acked: string; persisted: string; updated_at: number }>(
        `SELECT name, CAST(acked AS TEXT) AS acked, CAST(persisted AS TEXT) AS persisted, updated_at FROM ${SLOTS_TABLE} WHERE name = ?`,
        name,
      )
      .toArray()[0];
    return r && { name: r.name, acked: BigInt(r.acked), persisted: BigInt(r.persisted), updatedAt: r.updated_at };
  }

  /** Every slot. */
  slots(): Slot[] {
    return this.sql
      .exec<{ name: string }>(`SELECT name FROM ${SLOTS_TABLE} ORDER BY name`)
      .toArray()
      .map((r) => this.slot(r.name)!);
  }

  /** Moves a slot forward (never back) and trims the outbox behind the lowest slot. */
  updateSlot(name: string, acked: bigint, persisted?: bigint): void {
    const head = this.head();
    if (acked > head) throw new Error(`dolake_cdc: slot ${name} cannot pass the outbox head ${head} (got ${acked})`);
    this.sql.exec(
      // Positions are bound as decimal text (64-bit exact) and compared as integers: SQLite's max()
      // ranks any TEXT above any INTEGER, so max(acked, ?) would take a smaller, late position.
      `UPDATE ${SLOTS_TABLE} SET updated_at = CASE WHEN acked < CAST(? AS INTEGER) THEN ? ELSE updated_at END,
         acked = max(acked, CAST(? AS INTEGER)), persisted = max(persisted, CAST(? AS INTEGER)) WHERE name = ?`,
      acked.toString(),
      Date.now(),
      acked.toString(),
      (persisted ?? 0n).toString(),
      name,
    );
    this.trim();
  }

  /** Drops a slot (its destination no longer holds the outbox back). */
  dropSlot(name: string): void {
    this.sql.exec(`DELETE FROM ${SLOTS_TABLE} WHERE name = ?`, name);
    this.trim();
  }

  /** Deletes outbox rows every slot has acked. Without slots nothing is trimmed. */
  trim(): void {
    this.sql.exec(`DELETE FROM ${OUTBOX_TABLE} WHERE seq <= (SELECT min(acked) FROM ${SLOTS_TABLE})`);
  }

  /** Events after `after`, in commit order. */
  read(after: bigint, limit: number): OutboxEvent[] {
    return this.sql
      // The text copy of seq has its own name: ORDER BY seq would otherwise sort by that text
      // column ("10" before "9"), sending batches out of order and stopping on a false gap.
      .exec<{ seq_text: string; ts: number; tbl: string; op: string; row_id: string; before: string | null; after: string | null }>(
        `SELECT CAST(seq AS TEXT) AS seq_text, ts, tbl, op, row_id, before, after FROM ${OUTBOX_TABLE} WHERE seq > CAST(? AS INTEGER) ORDER BY seq LIMIT ?`,
        after.toString(),
        limit,
      )
      .toArray()
      .map((r) => ({
        sequence: BigInt(r.seq_text),
        timestamp: r.ts,
        table: r.tbl,
        operation: r.op as OutboxEvent["operation"],
        rowId: r.row_id,
        before: r.before,
        after: r.after,
      }));
  }

  /** Highest sequence ever written (0 when none): the AUTOINCREMENT counter survives trimming. */
  head(): bigint {
    const r = this.sql.exec<{ seq: string | null }>("SELECT CAST(seq AS TEXT) AS seq FROM sqlite_sequence WHERE name = ?", OUTBOX_TABLE).toArray()[0];
    return r?.seq ? BigInt(r.seq) : 0n;
  }

  /** Lowest sequence still held (head + 1 when the outbox is empty). */
  oldest(): bigint {
    const r = this.sql.exec<{ seq: string | null }>(`SELECT CAST(min(seq) AS TEXT) AS seq FROM ${OUTBOX_TABLE}`).toArray()[0];
    return r?.seq ? BigInt(r.seq) : this.head() + 1n;
  }

  /** Events held in the outbox (not yet trimmed). */
  size(): number {
    return this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${OUTBOX_TABLE}`).one().n;
  }

  /** Commit time of the first event after `after` (undefined when there is none). */
  firstTimeAfter(after: bigint): number | undefined {
    return this.sql.exec<{ ts: number }>(`SELECT ts FROM ${OUTBOX_TABLE} WHERE seq > CAST(? AS INTEGER) ORDER BY seq LIMIT 1`, after.toString()).toArray()[0]?.ts;
  }
}
