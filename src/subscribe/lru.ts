/** A small LRU map with a budget in the units `weigh` gives (events, bytes): what subscribers share. */
export class Lru<V> {
  private readonly map = new Map<string | number, V>();
  private used = 0;
  constructor(
    private readonly budget: number,
    private readonly weigh: (v: V) => number,
  ) {}

  /** The value, now most recently used. */
  get(key: string | number): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  /** Keeps `v` unless it weighs more than a quarter of the budget; evicts the least recently used. */
  set(key: string | number, v: V): void {
    const w = this.weigh(v);
    if (w > this.budget / 4 || this.map.has(key)) return;
    this.map.set(key, v);
    this.used += w;
    for (const [k, old] of this.map) {
      if (this.used <= this.budget) break;
      this.map.delete(k);
      this.used -= this.weigh(old);
    }
  }
}
