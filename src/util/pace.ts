/**
 * Cuts long CPU work into slices so a Durable Object keeps answering while it runs (issue 12).
 * The object is one thread: a flush that encodes a 4 MiB step in one synchronous stretch holds
 * every ack behind it, and awaiting R2 does not let a WebSocket message in either (in wrangler dev
 * an ack waited for a whole 12 s flush, bench/compaction/RESULTS.md); a macrotask turn does.
 *
 * Work is counted in units the caller chooses (bytes of input or output), not in time: workerd's
 * clock does not advance during synchronous code, so a slice cannot be measured from inside.
 */

/** Resolves after `ms` milliseconds (a timer: other events run meanwhile). */
export function sleep(ms: number): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, ms));
}

/** Resolves after one macrotask turn, so the runtime delivers queued events (socket messages, requests) first. */
export function yieldToEvents(): Promise<void> {
  return sleep(0);
}

/** Counts work and says when to let other events in. */
export interface Pacer {
  /** Adds `units` of work done; returns a macrotask yield to await once a slice's budget is spent, else undefined. */
  spend(units: number): Promise<void> | undefined;
  /** Yields now (between phases of a step) and starts a new slice. */
  pause(): Promise<void> | undefined;
}

/** A pacer that never yields (Node benches, tests of pure logic): the work runs in one stretch. */
export const NO_PACE: Pacer = { spend: () => undefined, pause: () => undefined };

/** A pacer that yields to the event queue whenever `budget` units of work were done since the last yield. */
export function pacer(budget: number): Pacer {
  let spent = 0;
  const pause = (): Promise<void> => {
    spent = 0;
    return yieldToEvents();
  };
  return {
    spend(units) {
      spent += units;
      return spent >= budget ? pause() : undefined;
    },
    pause,
  };
}

/** How long after the last foreground event (an ingest batch, a request) the object counts as busy with it. */
export const FOREGROUND_ACTIVE_MS = 1000;
/** The longest rest of one pause: a long stretch (an R2 part upload) is followed by at most this much idle. */
export const MAX_REST_MS = 50;
/** Rest per ms of stretch of deferrable work (Throttle.deferrablePause): about a fifth of the thread while producers send. */
export const DEFERRABLE_REST_FACTOR = 4;

/**
 * The yield of background work (maintenance), which shares the object's one thread with acks.
 * `pause()` is a macrotask turn, like yieldToEvents; then, while foreground work is active (an
 * ingest batch or a request within FOREGROUND_ACTIVE_MS), a rest as long as the stretch of work
 * since the previous pause (at most MAX_REST_MS). So while producers are sending, maintenance
 * takes at most about half of the thread and an ack arriving meets an idle object about half of
 * the time; with nobody sending it runs at full speed. The idea is PostgreSQL's cost-based vacuum
 * delay, measured in time rather than in page costs (bench/compaction/RESULTS.md). Maintenance
 * holds the flush lock, so it does not rest while a flush waits for it (`hurry`).
 *
 * The stretch is measured from the clock after the macrotask turn: on Cloudflare the clock stands
 * still during synchronous code and moves on I/O (locally it always moves), so it is read after
 * one. Whether a timer turn moves it on Cloudflare is not verified; R2 calls do, and if only they
 * do, the stretches between two R2 calls show at the second as one (one rest, up to MAX_REST_MS).
 */
export class Throttle {
  private lastForeground = Number.NEGATIVE_INFINITY;
  private resumedAt: number | undefined;

  readonly counters: { rests: number; restedMs: number };
  private readonly now: () => number;
  private readonly hurry: () => boolean;

  /**
   * `counters` learns the rests taken and their total length (ms), for /metrics; `hurry` says when
   * not to rest at all (a flush waits for the lock the maintenance holds: resting would hold it).
   */
  constructor(o: { counters?: { rests: number; restedMs: number }; now?: () => number; hurry?: () => boolean } = {}) {
    this.counters = o.counters ?? { rests: 0, restedMs: 0 };
    this.now = o.now ?? (() => Date.now());
    this.hurry = o.hurry ?? (() => false);
  }

  /** Notes foreground work (an ingest batch, a request): background work rests for a while. */
  foreground(): void {
    this.lastForeground = this.now();
  }

  /** True while foreground work was seen within FOREGROUND_ACTIVE_MS. */
  active(): boolean {
    return this.now() - this.lastForeground < FOREGROUND_ACTIVE_MS;
  }

  /** Starts a run of background work: the time before it is not a stretch of it. */
  begin(): void {
    this.resumedAt = this.now();
  }

  /** The background work's yield (see the class comment): at most about half of the thread while producers send. */
  readonly pause = (): Promise<void> => this.yieldAt(1);

  /**
   * The yield of deferrable background work (the index fold: lookups read through the position
   * map until it is done): rests DEFERRABLE_REST_FACTOR times the stretch, so it takes at most
   * about a fifth of the thread while producers send.
   */
  readonly deferrablePause = (): Promise<void> => this.yieldAt(DEFERRABLE_REST_FACTOR);

  private async yieldAt(factor: number): Promise<void> {
    await yieldToEvents();
    const stretch = this.resumedAt === undefined ? 0 : this.now() - this.resumedAt;
    if (stretch > 0 && this.active() && !this.hurry()) {
      const rest = Math.min(stretch * factor, MAX_REST_MS);
      this.counters.rests++;
      this.counters.restedMs += rest;
      await sleep(rest);
    }
    this.resumedAt = this.now();
  }
}
