/**
 * A circuit breaker in front of R2: after `failureThreshold` consecutive failed flushes it opens and
 * flushes pause (events stay in the durable buffer) for a cool-down that doubles on every failed
 * trial, up to maxCooldownMs; then one trial flush runs (half-open); success closes it.
 */
import { CircuitBreakerState } from "../../gen/dolake/cdc/v1/cdc_pb.js";

/** The breaker. State is in memory: after a restart R2 is tried again, which is what we want. */
export class CircuitBreaker {
  private failures = 0;
  private openUntil = 0;
  private cooldownMs: number;

  constructor(
    private readonly failureThreshold = 3,
    private readonly baseCooldownMs = 1000,
    private readonly maxCooldownMs = 60_000,
  ) {
    this.cooldownMs = baseCooldownMs;
  }

  /** Current state at `now`. */
  state(now: number): CircuitBreakerState {
    if (this.failures < this.failureThreshold) return CircuitBreakerState.CLOSED;
    return now < this.openUntil ? CircuitBreakerState.OPEN : CircuitBreakerState.HALF_OPEN;
  }

  /** Whether a flush may run now. */
  allows(now: number): boolean {
    return this.state(now) !== CircuitBreakerState.OPEN;
  }

  /** When the breaker lets the next trial through (0 when closed). */
  retryAt(): number {
    return this.failures < this.failureThreshold ? 0 : this.openUntil;
  }

  /** Records a successful flush. */
  success(): void {
    this.failures = 0;
    this.cooldownMs = this.baseCooldownMs;
    this.openUntil = 0;
  }

  /** Records a failed flush. */
  failure(now: number): void {
    this.failures += 1;
    if (this.failures >= this.failureThreshold) {
      this.openUntil = now + this.cooldownMs;
      this.cooldownMs = Math.min(this.maxCooldownMs, this.cooldownMs * 2);
    }
  }

  /** Consecutive failures so far. */
  consecutiveFailures(): number {
    return this.failures;
  }
}
