// The pacer (src/util/pace.ts) and the paced Parquet writer: it yields once per budget of work, and
// writing with pauses gives the very bytes and metrics of writing in one stretch.
import { parquetReadObjects } from "hyparquet";
import { describe, expect, it } from "vitest";
import type { NestedField } from "../../../src/iceberg/metadata/types.js";
import { ParquetStreamWriter, writeParquet, writeParquetPaced, type Row } from "../../../src/parquet/writer.js";
import { DEFERRABLE_REST_FACTOR, FOREGROUND_ACTIVE_MS, MAX_REST_MS, NO_PACE, pacer, Throttle, type Pacer } from "../../../src/util/pace.js";

describe("pacer", () => {
  it("yields (a macrotask turn) once `budget` units were spent, then starts a new slice", async () => {
    const p = pacer(100);
    expect(p.spend(60)).toBeUndefined();
    // A timer queued before the yield runs before it resolves: the yield is a macrotask turn, not a microtask.
    let timerRan = false;
    setTimeout(() => (timerRan = true), 0);
    const y = p.spend(40);
    expect(y).toBeInstanceOf(Promise);
    expect(timerRan).toBe(false);
    await y;
    expect(timerRan).toBe(true);
    expect(p.spend(99)).toBeUndefined();
    expect(p.pause()).toBeInstanceOf(Promise);
    expect(p.spend(99)).toBeUndefined();
    expect(NO_PACE.spend(1e12)).toBeUndefined();
    expect(NO_PACE.pause()).toBeUndefined();
  });
});

describe("Throttle", () => {
  it("rests as long as the stretch since the last pause while foreground work is recent, at most MAX_REST_MS, and not while a flush waits or nobody sends", async () => {
    let t = 1_000_000; // the throttle's clock, moved by hand (the rests themselves are real timers)
    const counters = { rests: 0, restedMs: 0 };
    let flushWaits = false;
    const th = new Throttle({ counters, now: () => t, hurry: () => flushWaits });
    th.begin();
    t += 20;
    await th.pause(); // nobody sending: a macrotask turn only
    expect(counters).toEqual({ rests: 0, restedMs: 0 });

    th.foreground();
    t += 20;
    const started = performance.now();
    await th.pause();
    expect(counters).toEqual({ rests: 1, restedMs: 20 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(15); // a real rest (timers may fire a little early)

    t += 10 * MAX_REST_MS; // a long stretch (an R2 part upload): the rest is capped
    await th.pause();
    expect(counters).toEqual({ rests: 2, restedMs: 20 + MAX_REST_MS });

    await th.pause(); // no time since the last pause: nothing to rest for
    expect(counters.rests).toBe(2);

    t += FOREGROUND_ACTIVE_MS; // the producer stopped a while ago: full speed again
    await th.pause();
    expect(counters.rests).toBe(2);

    th.foreground();
    flushWaits = true; // a flush waits for the lock maintenance holds: no rest
    t += 20;
    await th.pause();
    expect(counters.rests).toBe(2);
    flushWaits = false;

    t += 5;
    th.begin(); // a new run of work: the time before it is not a stretch of it
    await th.pause();
    expect(counters.rests).toBe(2);

    t += 5; // deferrable work (the index fold) rests DEFERRABLE_REST_FACTOR times its stretch
    await th.deferrablePause();
    expect(counters).toEqual({ rests: 3, restedMs: 20 + MAX_REST_MS + 5 * DEFERRABLE_REST_FACTOR });
  });

  it("yields a macrotask turn even when it does not rest", async () => {
    const th = new Throttle();
    let timerRan = false;
    setTimeout(() => (timerRan = true), 0);
    await th.pause();
    expect(timerRan).toBe(true);
  });
});

describe("writeParquetPaced", () => {
  const fields: NestedField[] = [
    { id: 1, name: "id", required: true, type: "long" },
    { id: 2, name: "name", required: false, type: "string" },
    { id: 3, name: "score", required: false, type: "double" },
    { id: 4, name: "ok", required: false, type: "boolean" },
  ];
  const rows: Row[] = Array.from({ length: 2500 }, (_, i) => ({ id: BigInt(i), name: i % 7 ? `name-${i}` : null, score: i / 3, ok: i % 2 === 0 }));

  it("writes the same file as writeParquet, pausing after column chunks", async () => {
    const spent: number[] = [];
    const counting: Pacer = { spend: (n) => void spent.push(n), pause: () => undefined };
    const paced = await writeParquetPaced(fields, rows, { rowGroupRows: 1000 }, counting);
    const whole = writeParquet(fields, rows, { rowGroupRows: 1000 });
    expect(paced.bytes).toEqual(whole.bytes);
    const { bytes: _a, ...pacedMetrics } = paced;
    const { bytes: _b, ...wholeMetrics } = whole;
    expect(pacedMetrics).toEqual(wholeMetrics);
    expect(spent.length).toBe(3 * fields.length); // 3 row groups x 4 columns
    expect(spent.every((n) => n > 0)).toBe(true);
  });

  it("yields to timers when the budget is spent", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    try {
      await writeParquetPaced(fields, rows, { rowGroupRows: 500 }, pacer(1));
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(0);
  });

  it("cuts PLAIN string chunks into pages of about 256 KiB, with nulls on both sides of a cut, read back by hyparquet", async () => {
    const text: NestedField[] = [{ id: 1, name: "id", required: true, type: "long" }, { id: 2, name: "body", required: false, type: "string" }];
    // 3,000 distinct ~1 KB strings (no dictionary), every 7th null, some non-ASCII: ~3 MiB in one chunk.
    const big: Row[] = Array.from({ length: 3000 }, (_, i) => ({ id: BigInt(i), body: i % 7 === 3 ? null : `${i}:${"é".repeat(i % 5)}${"x".repeat(1000 + (i % 13))}` }));
    const spent: number[] = [];
    const out = await writeParquetPaced(text, big, {}, { spend: (n) => void spent.push(n), pause: () => undefined });
    expect(out.bytes).toEqual(writeParquet(text, big).bytes);
    expect(spent.length).toBeGreaterThanOrEqual(9); // id: one page; body (~3 MiB): eight or more
    expect(Math.max(...spent)).toBeLessThan(1.1 * 2 ** 18);
    const file = out.bytes.buffer.slice(out.bytes.byteOffset, out.bytes.byteOffset + out.bytes.byteLength) as ArrayBuffer;
    const back = (await parquetReadObjects({ file })) as Array<{ id: bigint; body: string | null }>;
    expect(back.map((r) => r.body)).toEqual(big.map((r) => r.body));
    expect(out.nullValueCounts.get(2)).toBe(BigInt(big.filter((r) => r.body === null).length));
  });

  it("a streamed row group (compaction's output) pauses before each column and after each data page, and writes the bytes of rowGroup", async () => {
    const text: NestedField[] = [{ id: 1, name: "id", required: true, type: "long" }, { id: 2, name: "body", required: false, type: "string" }];
    const big: Row[] = Array.from({ length: 3000 }, (_, i) => ({ id: BigInt(i), body: i % 7 === 3 ? null : `${i}:${"x".repeat(1000 + (i % 13))}` }));
    let pauses = 0;
    const paced = await new ParquetStreamWriter(text).rowGroupPaced(big, async () => void pauses++);
    const whole = new ParquetStreamWriter(text).rowGroup(big);
    expect(Buffer.concat(paced)).toEqual(Buffer.concat(whole));
    // id: a pause before it and one after its page; body (~2.6 MiB in 256 KiB pages): one before, one after each of 9+ pages (2 in all when it paused only between columns).
    expect(pauses).toBeGreaterThanOrEqual(2 + 1 + 9);
  });
});
