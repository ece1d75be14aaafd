/**
 * Maintenance that runs by itself (issue 9): every `compaction.compactionIntervalMs` the object's
 * alarm starts a pass over the CDC tables (mirrors and changelogs) and runs it ONE slice of a
 * compaction job per alarm (a bounded amount of one partition's input, between flushes), the next
 * slice shortly after, so acks and flushes interleave with it. A table with nothing left to compact
 * gets a snapshot expiry commit if its retention lets snapshots go. The pass (tables left, next due
 * time) and the job in progress (src/flush/compaction-job.ts) are kept in SQLite, so both go on
 * after an eviction or a crash; a crash leaves at most unreferenced files behind.
 */
import { cdcTables, CompactionMetrics, compactSlice, expireSnapshots, type CompactorHost, type StepReport } from "../flush/compactor.js";
import type { TableIdent } from "../catalog/names.js";
import type { FlushScheduler } from "./flush-scheduler.js";
import { Throttle } from "../util/pace.js";

/** Delay between two committed steps of a pass (ms): the object answers acks and flushes in between. */
export const STEP_GAP_MS = 1000;
/** Delay between two slices of one job (ms): flushes waiting for the lock run first. */
export const SLICE_GAP_MS = 100;
/** Most slices one call of runPass/runTable runs (a 128 MiB job at 2 MiB a slice takes about 64). */
const MAX_SLICES_PER_RUN = 5000;

/** What the scheduler needs from its Durable Object. */
export interface MaintenanceHost extends CompactorHost {
  readonly flushes: FlushScheduler;
}

/** What one pass step (or a whole run) did. */
export interface RunReport {
  steps: StepReport[];
  snapshotsExpired: number;
  /** Slices of compaction jobs run (a job in progress that did not commit yet counts its slices here). */
  slices: number;
  /** Tables still to visit in the current pass (auto maintenance). */
  tablesLeft: number;
}

interface PassState {
  nextDueAt: number;
  /** Table names of the namespace still to visit, or null when no pass is running. */
  pending: string[] | null;
}

/** Schedules and runs automatic maintenance for one DoLake object. */
export class MaintenanceScheduler {
  readonly metrics = new CompactionMetrics();
  /** Maintenance's yield: rests while producers are sending (the object notes its foreground events here). */
  readonly throttle: Throttle;
  /** True while a step runs. */
  running = false;

  constructor(private readonly host: MaintenanceHost) {
    this.throttle = new Throttle({ counters: this.metrics, hurry: () => host.flushes.waiting > 0 });
    host.storage.sql.exec("CREATE TABLE IF NOT EXISTS dolake_maintenance (id INTEGER PRIMARY KEY CHECK (id = 1), next_due_at INTEGER NOT NULL, pending TEXT)");
    // First start: the first pass is due one interval from now (a fresh object has nothing to compact).
    host.storage.sql.exec("INSERT OR IGNORE INTO dolake_maintenance (id, next_due_at, pending) VALUES (1, ?, NULL)", Date.now() + host.config.compaction.compactionIntervalMs);
  }

  private state(): PassState {
    const row = this.host.storage.sql.exec<{ next_due_at: number; pending: string | null }>("SELECT next_due_at, pending FROM dolake_maintenance").one();
    return { nextDueAt: Number(row.next_due_at), pending: row.pending === null ? null : (JSON.parse(row.pending) as string[]) };
  }

  private save(s: PassState): void {
    this.host.storage.sql.exec(
      "INSERT INTO dolake_maintenance (id, next_due_at, pending) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET next_due_at = excluded.next_due_at, pending = excluded.pending",
      s.nextDueAt,
      s.pending === null ? null : JSON.stringify(s.pending),
    );
  }

  /** When the next step is due (epoch ms), or undefined when automatic compaction is off. */
  nextRunAt(): number | undefined {
    if (!this.host.config.compaction.autoCompact) return undefined;
    const s = this.state();
    return s.pending ? Date.now() : s.nextDueAt;
  }

  /** True when the alarm firing now is (also) for maintenance. */
  due(now = Date.now()): boolean {
    const at = this.nextRunAt();
    return at !== undefined && at <= now;
  }

  /** After a config change: a shorter interval brings the next pass closer; then the alarm follows. */
  async configChanged(): Promise<void> {
    const s = this.state();
    const latest = Date.now() + this.host.config.compaction.compactionIntervalMs;
    if (s.pending === null && s.nextDueAt > latest) this.save({ ...s, nextDueAt: latest });
    await this.ensureAlarm();
  }

  /** Makes sure an alarm fires when the next step is due (never moves an earlier alarm later). */
  async ensureAlarm(): Promise<void> {
    const at = this.nextRunAt();
    if (at === undefined) return;
    const current = await this.host.storage.getAlarm();
    if (current === null || current > at) await this.host.storage.setAlarm(Math.max(at, Date.now()));
  }

  /** The alarm: one step of the pass when due, then the next alarm. */
  async onAlarm(): Promise<void> {
    if (this.due()) {
      try {
        await this.step();
      } catch (e) {
        // Counted and kept in lastError; the pass moves on to the next table.
        console.error("maintenance step failed", e);
      }
    }
    await this.ensureAlarm();
  }

  /**
   * One step of the automatic pass (starts a pass when none is running): visits the tables left
   * until one compaction step commits; tables with nothing to compact get their expiry and leave.
   */
  async step(): Promise<RunReport> {
    const s = this.state();
    if (s.pending === null) {
      s.pending = cdcTables(this.host).map((t) => t.name);
      this.metrics.runs++;
    }
    const report: RunReport = { steps: [], snapshotsExpired: 0, tablesLeft: s.pending.length, slices: 0 };
    this.save(s);
    let midJob = false;
    try {
      while (s.pending.length > 0 && report.steps.length === 0 && !midJob) {
        const name = s.pending[0]!;
        const ident: TableIdent = { namespace: [this.host.config.namespace], name };
        const done = await this.runExclusive(async () => {
          const slice = await compactSlice(this.host, this.metrics, ident);
          if (!slice) {
            report.snapshotsExpired += await expireSnapshots(this.host, this.metrics, ident);
            return true;
          }
          report.slices++;
          if (slice.step) report.steps.push(slice.step);
          else if (slice.aborted !== undefined) return true; // an aborted job does not hold the pass: the next pass plans again
          else midJob = true; // one slice per alarm: the job goes on at the next
          return false;
        }).catch((e: unknown) => {
          this.metrics.lastError = `${name}: ${(e as Error).message}`;
          return true; // a failing table does not hold the pass: it is retried on the next pass
        });
        if (done) s.pending.shift();
        this.save(s);
      }
    } finally {
      if (s.pending.length === 0) {
        s.pending = null;
        s.nextDueAt = Date.now() + this.host.config.compaction.compactionIntervalMs;
        this.metrics.lastRunAt = Date.now();
      } else s.nextDueAt = Date.now() + (midJob ? SLICE_GAP_MS : STEP_GAP_MS);
      report.tablesLeft = s.pending?.length ?? 0;
      this.save(s);
    }
    return report;
  }

  /** A whole pass now (POST /v1/compaction/auto), at most `maxSteps` committed steps; the rest continues by alarm. */
  async runPass(maxSteps = 50): Promise<RunReport> {
    const out: RunReport = { steps: [], snapshotsExpired: 0, tablesLeft: 0, slices: 0 };
    for (let i = 0; out.steps.length < maxSteps && i < MAX_SLICES_PER_RUN; i++) {
      const r = await this.step();
      out.steps.push(...r.steps);
      out.snapshotsExpired += r.snapshotsExpired;
      out.slices += r.slices;
      out.tablesLeft = r.tablesLeft;
      if (r.tablesLeft === 0) break;
    }
    await this.ensureAlarm();
    return out;
  }

  /** Compaction steps, then expiry, for one table now (POST /v1/compaction/run), at most `maxSteps` steps. */
  async runTable(ident: TableIdent, maxSteps = 50): Promise<RunReport> {
    this.metrics.runs++;
    const out: RunReport = { steps: [], snapshotsExpired: 0, tablesLeft: 0, slices: 0 };
    // One slice per exclusive turn: flushes queued meanwhile run between slices.
    for (let i = 0, aborts = 0; out.steps.length < maxSteps && i < MAX_SLICES_PER_RUN; i++) {
      const slice = await this.runExclusive(() => compactSlice(this.host, this.metrics, ident));
      if (!slice) break;
      out.slices++;
      if (slice.aborted !== undefined && ++aborts >= 3) break;
      if (!slice.step) continue;
      out.steps.push(slice.step);
      out.snapshotsExpired += slice.step.snapshotsExpired;
    }
    out.snapshotsExpired += await this.runExclusive(() => expireSnapshots(this.host, this.metrics, ident));
    this.metrics.lastRunAt = Date.now();
    return out;
  }

  private async runExclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.host.flushes.exclusive(async () => {
      this.running = true;
      this.throttle.begin();
      try {
        return await work();
      } finally {
        this.running = false;
      }
    });
  }
}
