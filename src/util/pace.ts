/**
 * Cuts long CPU work into slices so a Durable Object keeps answering while it runs (issue 12).
 * The object is one thread: a flush that encodes a 4 MiB step in one synchronous stretch holds
 * every ack behind it, and awaiting R2 does not let a WebSocket message in either (in wrangler dev
 * an ack waited for a whole 12 s flush, bench/compaction/RESULTS.md); a macrotask turn does.
 *
 * Work is counted in units the caller chooses (bytes of input or output), not in time: workerd's
 * clock does not advance during synchronous code, so a slice cannot be measured from inside.
 */

/** Resolves after one macrotask turn, so the runtime delivers queued events (socket messages, requests) first. */
export function yieldToEvents(): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, 0));
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
