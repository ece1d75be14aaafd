/**
 * `dolake/source`: CDC at the source. `enableCdc(ctx, {tables, destination})` in a Durable
 * Object's constructor captures every committed INSERT/UPDATE/DELETE of its SQLite tables (by
 * triggers, in the writing transaction) into an outbox, and an alarm-driven pump streams the
 * outbox to DoLake, resuming from a durable replication slot. See docs/source.md.
 */
import { type CdcDestination, dolakeNamespace, dolakeUrl, type FetchLike, type NamespaceLike } from "./destination.js";
import { type SourceLag, SourceMetrics } from "./metrics.js";
import { Outbox, type Slot } from "./outbox.js";
import { Pump, type RunResult } from "./pump.js";
import { type CapturedTable, type ColumnKind, installTriggers, OUTBOX_FULL, SCHEMA_STALE, userTables } from "./triggers.js";

export { dolakeNamespace, dolakeUrl, OUTBOX_FULL, SCHEMA_STALE };
export type { CdcDestination, FetchLike, NamespaceLike, RunResult, Slot, SourceLag };

/** Options of enableCdc. */
export interface CdcOptions {
  /** Tables to capture, or "*" for every user table (new tables are captured at the next refresh). */
  tables: string[] | "*";
  /** Where to send the changes. */
  destination: CdcDestination;
  /** This source's id at DoLake (its sequences are per source). Default: the object's id. */
  sourceId?: string;
  /** Name of the destination's replication slot (default "dolake"). */
  slot?: string;
  /** Changes the outbox may hold before writes are refused (default 100000). */
  maxOutboxEvents?: number;
  /** Events per cdc_batch frame (default 500). */
  batchEvents?: number;
  /** Delay between a write's notify() and the pump, ms (default 0: as soon as possible). */
  lingerMs?: number;
  /** Longest pump run per alarm, ms (default 10000). */
  runBudgetMs?: number;
  /** How long to wait for DoLake's answer, ms (default 10000). */
  answerTimeoutMs?: number;
  /** Retry delay bounds while DoLake is unreachable or refusing, ms (default 200..30000). */
  retryDelayMs?: { min: number; max: number };
}

/** Change data capture of one Durable Object. */
export interface Cdc {
  /** The replication slots (product API names: createSlot, subscribeFromSlot, updateSlot). */
  readonly slots: {
    createSlot(name: string, from?: bigint): Slot;
    getSlot(name: string): Slot | undefined;
    listSlots(): Slot[];
    /** Changes after the slot's position, in commit order (for destinations other than the pump's). */
    subscribeFromSlot(name: string, limit?: number): ReturnType<Outbox["read"]>;
    updateSlot(name: string, acked: bigint, persisted?: bigint): void;
    dropSlot(name: string): void;
  };
  /** Runs DDL and regenerates the triggers in the same transaction: no change is captured with a stale column list. */
  migrate<T>(ddl: () => T): T;
  /** Regenerates the triggers for the current schema (and, with tables "*", captures new tables). */
  refresh(): void;
  /** Schedules the pump (call after writes; cheap when an alarm is already due). */
  notify(): Promise<void>;
  /** The pump's alarm work: call from the object's alarm() handler. Schedules the next alarm itself. */
  alarm(): Promise<RunResult>;
  /** How far DoLake is behind this object. */
  lag(): SourceLag;
  /** Prometheus text of the lag and the pump's counters. */
  metrics(): string;
  /** The tables captured and their column kinds. */
  readonly captured: readonly CapturedTable[];
}

/** Enables CDC on a Durable Object's SQLite tables; call in the constructor (synchronous). */
export function enableCdc(ctx: DurableObjectState, options: CdcOptions): Cdc {
  return new SourceCdc(ctx, options);
}

class SourceCdc implements Cdc {
  captured: CapturedTable[] = [];
  private readonly outbox: Outbox;
  private readonly pump: Pump;
  private readonly stats = new SourceMetrics();
  private readonly kinds = new Map<string, Map<string, ColumnKind>>();
  private readonly slot: string;
  private readonly maxOutboxEvents: number;
  private readonly sourceId: string;
  readonly slots: Cdc["slots"];

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly options: CdcOptions,
  ) {
    this.slot = options.slot ?? "dolake";
    this.maxOutboxEvents = options.maxOutboxEvents ?? 100_000;
    this.sourceId = options.sourceId ?? ctx.id.toString();
    const sql = ctx.storage.sql;
    this.outbox = new Outbox(sql);
    ctx.storage.transactionSync(() => {
      this.outbox.createSlot(this.slot);
      this.install();
    });
    this.pump = new Pump(
      this.outbox,
      options.destination,
      {
        sourceId: this.sourceId,
        slot: this.slot,
        batchEvents: options.batchEvents ?? 500,
        runBudgetMs: options.runBudgetMs ?? 10_000,
        answerTimeoutMs: options.answerTimeoutMs ?? 10_000,
        retryDelayMs: options.retryDelayMs ?? { min: 200, max: 30_000 },
      },
      (table) => this.kinds.get(table),
      this.stats,
    );
    const outbox = this.outbox;
    this.slots = {
      createSlot: (name, from) => outbox.createSlot(name, from),
      getSlot: (name) => outbox.slot(name),
      listSlots: () => outbox.slots(),
      subscribeFromSlot: (name, limit = 1000) => {
        const s = outbox.slot(name);
        if (!s) throw new Error(`dolake_cdc: no slot ${JSON.stringify(name)}`);
        return outbox.read(s.acked, limit);
      },
      updateSlot: (name, acked, persisted) => outbox.updateSlot(name, acked, persisted),
      dropSlot: (name) => outbox.dropSlot(name),
    };
  }

  private install(): void {
    const tables = this.options.tables === "*" ? userTables(this.ctx.storage.sql) : this.options.tables;
    this.captured = installTriggers(this.ctx.storage.sql, tables, this.maxOutboxEvents);
    this.kinds.clear();
    for (const t of this.captured) this.kinds.set(t.name, new Map(t.columns.map((c) => [c.name, c.kind])));
  }

  migrate<T>(ddl: () => T): T {
    return this.ctx.storage.transactionSync(() => {
      const result = ddl();
      this.install();
      return result;
    });
  }

  refresh(): void {
    this.ctx.storage.transactionSync(() => this.install());
  }

  async notify(): Promise<void> {
    const due = Date.now() + (this.options.lingerMs ?? 0);
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > due) await this.ctx.storage.setAlarm(due);
  }

  async alarm(): Promise<RunResult> {
    const result = await this.pump.run();
    if (result.next !== undefined) await this.ctx.storage.setAlarm(Date.now() + result.next);
    return result;
  }

  lag(): SourceLag {
    const slot = this.outbox.slot(this.slot)!;
    const head = this.outbox.head();
    const first = this.outbox.firstTimeAfter(slot.acked);
    return {
      events: Number(head - slot.acked),
      seconds: first === undefined ? 0 : Math.max(0, (Date.now() - first) / 1000),
      head,
      acked: slot.acked,
      persisted: slot.persisted,
      outboxEvents: this.outbox.size(),
      maxOutboxEvents: this.maxOutboxEvents,
      lastError: this.stats.lastError,
    };
  }

  metrics(): string {
    return this.stats.prometheus(this.lag(), this.sourceId);
  }
}
