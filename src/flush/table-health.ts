/**
 * Tables whose flush is failing. One table's failure does not stop the others: its events stay
 * buffered and it is retried with backoff (1 s, 2 s, ... 64 s) while the other tables flush.
 * Kept in memory: after a restart every table is simply tried again.
 */

/** A table whose last flush attempt failed. */
export interface BrokenTable {
  table: string;
  error: string;
  /** Epoch ms of the first failure in the current run of failures. */
  since: number;
  attempts: number;
  /** Epoch ms before which the table is not tried again. */
  retryAt: number;
}

/** Failing tables and their backoff. */
export class TableHealth {
  private readonly broken = new Map<string, BrokenTable>();

  /** True if the table failed and its backoff has not run out. */
  waiting(table: string, now: number): boolean {
    const b = this.broken.get(table);
    return b !== undefined && now < b.retryAt;
  }

  /** Records a failed attempt. */
  failed(table: string, error: string, now: number): void {
    const prev = this.broken.get(table);
    const attempts = (prev?.attempts ?? 0) + 1;
    this.broken.set(table, { table, error, since: prev?.since ?? now, attempts, retryAt: now + 1000 * 2 ** Math.min(6, attempts - 1) });
  }

  /** Records a successful flush of the table. */
  ok(table: string): void {
    this.broken.delete(table);
  }

  /** Every failing table, by name. */
  list(): BrokenTable[] {
    return [...this.broken.values()].sort((a, b) => a.table.localeCompare(b.table));
  }

  /** When the next failing table may be retried (undefined if none fails). */
  nextRetryAt(): number | undefined {
    let at: number | undefined;
    for (const b of this.broken.values()) at = at === undefined ? b.retryAt : Math.min(at, b.retryAt);
    return at;
  }
}
