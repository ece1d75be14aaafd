/** A token bucket: `capacity` tokens, refilled at `refillPerSecond`. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly capacity: number,
    readonly refillPerSecond: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.last = now;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.refillPerSecond);
      this.last = now;
    }
  }

  /** Takes one token; false when the bucket is empty. */
  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Whole tokens left. */
  remaining(now: number): number {
    this.refill(now);
    return Math.floor(this.tokens);
  }

  /** Milliseconds until one token is available (0 if one is). */
  msUntilToken(now: number): number {
    this.refill(now);
    if (this.tokens >= 1 || this.refillPerSecond <= 0) return 0;
    return Math.ceil(((1 - this.tokens) / this.refillPerSecond) * 1000);
  }

  /** When the bucket is full again, Unix ms. */
  fullAt(now: number): number {
    this.refill(now);
    if (this.refillPerSecond <= 0) return now;
    return now + Math.ceil(((this.capacity - this.tokens) / this.refillPerSecond) * 1000);
  }
}
