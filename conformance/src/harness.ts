/**
 * The suite's runner: test cases by area, capability gating, known failures (an expected failure
 * that passes fails the run), timing, and the per-area summary.
 */
import { inspect } from "node:util";

/** The four areas of the suite, in run order. */
export const AREAS = ["wire", "durability", "catalog", "data", "subscribe"] as const;
/** One area. */
export type Area = (typeof AREAS)[number];

/** Outcome of one case. */
export type Status = "pass" | "fail" | "skip" | "xfail" | "xpass";

/** One result, as printed and written to JUnit. */
export interface Result {
  id: string;
  area: Area;
  title: string;
  status: Status;
  ms: number;
  message?: string;
}

/** Thrown by a case that cannot run here (a missing reader, an unknown limit). */
export class Skip extends Error {}

/** Thrown by failed checks. */
export class CheckFailure extends Error {}

/** A case. `requires` names capability paths ("wire.persistedAcks") that must be truthy. */
export interface TestCase<C> {
  id: string;
  area: Area;
  title: string;
  requires?: string[];
  run(ctx: C): Promise<string | void>;
}

/** Fails with `message` unless `cond`. */
export function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new CheckFailure(message);
}

const show = (v: unknown) => inspect(v, { depth: 6, breakLength: 160, maxStringLength: 200 });

/** Whether `actual` contains `expected` (objects: every key of expected matches; functions are predicates). */
export function matches(actual: unknown, expected: unknown): boolean {
  if (typeof expected === "function") return Boolean((expected as (v: unknown) => boolean)(actual));
  if (expected !== null && typeof expected === "object" && !Array.isArray(expected)) {
    if (actual === null || typeof actual !== "object") return false;
    return Object.entries(expected).every(([k, v]) => matches((actual as Record<string, unknown>)[k], v));
  }
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((v, i) => matches(actual[i], v));
  }
  const integral = (v: unknown) => typeof v === "bigint" || (typeof v === "number" && Number.isInteger(v));
  if (integral(actual) && integral(expected)) return BigInt(actual as number) === BigInt(expected as number);
  return Object.is(actual, expected);
}

/** Fails unless `actual` matches `expected` (see matches()). */
export function expectMatch(actual: unknown, expected: unknown, what: string): void {
  if (!matches(actual, expected)) throw new CheckFailure(`${what}: expected ${show(expected)}\n    got ${show(actual)}`);
}

/** Predicates for expectMatch. */
export const is = {
  positive: (v: unknown) => (typeof v === "number" || typeof v === "bigint") && v > 0,
  number: (v: unknown) => typeof v === "number" || typeof v === "bigint",
  string: (v: unknown) => typeof v === "string",
  nonEmpty: (v: unknown) => typeof v === "string" && v.length > 0,
  oneOf: (...xs: unknown[]) => (v: unknown) => xs.includes(v),
  contains: (s: string) => (v: unknown) => typeof v === "string" && v.includes(s),
};

/** A capability path's value ("wire.persistedAcks"). */
export function capability(caps: Record<string, unknown>, path: string): unknown {
  return path.split(".").reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), caps);
}

/** Known failures: test id -> reason. */
export type KnownFailures = Map<string, string>;

/** Runs cases in order; prints one line per case. */
export async function runCases<C>(
  cases: Array<TestCase<C>>,
  ctx: C,
  opts: { caps: Record<string, unknown>; known: KnownFailures; only?: RegExp; log: (line: string) => void; afterEach?: () => Promise<void> },
): Promise<Result[]> {
  const results: Result[] = [];
  for (const c of cases) {
    if (opts.only && !opts.only.test(c.id)) continue;
    const started = Date.now();
    const missing = (c.requires ?? []).filter((p) => !capability(opts.caps, p));
    let r: Result;
    if (missing.length) {
      r = { id: c.id, area: c.area, title: c.title, status: "skip", ms: 0, message: `capability not declared: ${missing.join(", ")}` };
    } else {
      const known = opts.known.get(c.id);
      try {
        const note = await c.run(ctx);
        r = known
          ? { id: c.id, area: c.area, title: c.title, status: "xpass", ms: Date.now() - started, message: `listed as a known failure (${known}) but passed: remove it from known-failures.json` }
          : { id: c.id, area: c.area, title: c.title, status: "pass", ms: Date.now() - started, ...(note ? { message: note } : {}) };
      } catch (e) {
        const ms = Date.now() - started;
        const message = e instanceof CheckFailure || e instanceof Skip ? e.message : (e as Error)?.stack ?? String(e);
        if (e instanceof Skip) r = { id: c.id, area: c.area, title: c.title, status: "skip", ms, message };
        else if (known) r = { id: c.id, area: c.area, title: c.title, status: "xfail", ms, message: `known failure: ${known} (${message.split("\n")[0]})` };
        else r = { id: c.id, area: c.area, title: c.title, status: "fail", ms, message };
      }
    }
    await opts.afterEach?.();
    results.push(r);
    const mark = { pass: "✓", fail: "✗", skip: "-", xfail: "x", xpass: "!" }[r.status];
    opts.log(`  ${mark} ${r.id}  ${r.title}  (${r.ms} ms)${r.message && r.status !== "pass" ? `\n      ${r.message.replaceAll("\n", "\n      ")}` : ""}`);
  }
  return results;
}

/** Counts per status. */
export function tally(results: Result[]): Record<Status, number> {
  const t: Record<Status, number> = { pass: 0, fail: 0, skip: 0, xfail: 0, xpass: 0 };
  for (const r of results) t[r.status]++;
  return t;
}

/** Whether the run passed: no failures and no unexpected passes. */
export function passed(results: Result[]): boolean {
  const t = tally(results);
  return t.fail === 0 && t.xpass === 0;
}
