/**
 * Area 4, data: what was streamed is what the tables contain, read by a reader we did not write
 * (pyiceberg, through the REST catalog and the S3 credentials it vends), at the current snapshot
 * and at each flush's snapshot (time travel), mirror and changelog.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import type { Ctx } from "../context.js";
import { check, CheckFailure, Skip, type TestCase } from "../harness.js";
import { type Json, parseJson, stringifyJson } from "../json.js";
import { durabilityCases, type Streamed } from "./durability.js";

type Read = { schema: string[]; current: Array<Record<string, Json>>; snapshots: Record<string, Array<Record<string, Json>>>; history: string[] };

/** Runs the pyiceberg reader; resolves with its JSON. */
function pyiceberg(ctx: Ctx, ident: string, snapshots: string[]): Promise<Read> {
  const python = ctx.opts.python;
  if (!python) throw new Skip("skipped: no independent reader (no Python with pyiceberg; run scripts/python-env.sh or pass --python)");
  return new Promise((resolve, reject) => {
    const child = spawn(python, [join(ctx.opts.root, "conformance/readers/pyiceberg_read.py"), ctx.target.url, ctx.target.token, ident, ...snapshots], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("error", (e) => reject(new Skip(`skipped: no independent reader (${e.message})`)));
    child.on("exit", (code) => {
      if (code === 0) return resolve(parseJson(out) as unknown as Read);
      if (/No module named 'pyiceberg'/.test(err)) return reject(new Skip("skipped: no independent reader (pyiceberg not installed)"));
      reject(new CheckFailure(`pyiceberg could not read ${ident}: ${err.trim().split("\n").slice(-3).join(" | ")}`));
    });
  });
}

/** JSON text with object keys sorted, for comparing values whatever their key order. */
function canon(v: unknown): string {
  const sort = (x: unknown): unknown =>
    x !== null && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, sort((x as Record<string, unknown>)[k])])) : Array.isArray(x) ? x.map(sort) : x;
  return stringifyJson(sort(v));
}

/** Compares rows read with the expected rows by id; nested values are JSON text in the table. */
function compare(read: Array<Record<string, Json>>, expected: Map<string, Record<string, Json>>, what: string): void {
  const problems: string[] = [];
  const byId = new Map(read.map((r) => [String(r.id), r]));
  if (read.length !== expected.size) problems.push(`${read.length} rows read, ${expected.size} expected`);
  if (byId.size !== read.length) problems.push(`duplicate ids: ${read.length - byId.size}`);
  for (const [id, want] of expected) {
    const got = byId.get(id);
    if (!got) {
      problems.push(`row ${id} missing`);
      continue;
    }
    for (const [k, v] of Object.entries(want)) {
      const g = got[k];
      const same =
        v !== null && typeof v === "object"
          ? typeof g === "string" && canon(parseJson(g)) === canon(v)
          : typeof v === "bigint" || typeof g === "bigint" || typeof v === "number"
            ? g !== null && g !== undefined && String(g) === String(v)
            : g === v;
      if (!same) problems.push(`row ${id}.${k}: read ${String(g)}, sent ${typeof v === "object" ? JSON.stringify(v) : String(v)}`);
    }
  }
  for (const id of byId.keys()) if (!expected.has(id)) problems.push(`row ${id} read but deleted or never sent`);
  if (problems.length) throw new CheckFailure(`${what}: ${problems.slice(0, 8).join("; ")}${problems.length > 8 ? ` (+${problems.length - 8} more)` : ""}`);
}

async function streamed(ctx: Ctx): Promise<Streamed> {
  let s = ctx.shared.get("streamed") as Streamed | undefined;
  if (!s) {
    await durabilityCases()[0]!.run(ctx);
    s = ctx.shared.get("streamed") as Streamed;
  }
  return s;
}

/** The data cases. */
export function dataCases(): Array<TestCase<Ctx>> {
  return [
    {
      id: "data.mirror.pyiceberg",
      area: "data",
      title: "pyiceberg reads the mirror table: exactly the rows sent, values exact (64-bit ints, doubles, booleans, nulls, nested as JSON text)",
      requires: ["data.pyiceberg"],
      async run(ctx) {
        const s = await streamed(ctx);
        const read = await pyiceberg(ctx, `${s.namespace}.${s.workload.table}`, []);
        compare(read.current, s.workload.states.at(-1)!, "current snapshot");
        return `${read.current.length} rows, columns ${read.schema.join(", ")}`;
      },
    },
    {
      id: "data.time-travel.pyiceberg",
      area: "data",
      title: "pyiceberg reads each flush's snapshot: the state after that flush",
      requires: ["data.pyiceberg"],
      async run(ctx) {
        const s = await streamed(ctx);
        const read = await pyiceberg(ctx, `${s.namespace}.${s.workload.table}`, s.snapshotIds);
        s.snapshotIds.forEach((id, i) => compare(read.snapshots[id] ?? [], s.workload.states[i]!, `snapshot ${id} (after flush ${i + 1})`));
        check(s.snapshotIds.every((id) => read.history.includes(id)), "a flush's snapshot is missing from the table's history");
      },
    },
    {
      id: "data.changelog.pyiceberg",
      area: "data",
      title: "pyiceberg reads the changelog: one row per event with operation, sequence, source, row id and images",
      requires: ["data.pyiceberg"],
      async run(ctx) {
        const s = await streamed(ctx);
        const suffix = (ctx.caps.cdc as { changelogSuffix?: string })?.changelogSuffix ?? "__changelog";
        const read = await pyiceberg(ctx, `${s.namespace}.${s.workload.table}${suffix}`, []);
        const events = s.workload.phases.flat();
        check(read.current.length === events.length, `changelog has ${read.current.length} rows, ${events.length} events were sent`);
        const bySeq = new Map(read.current.map((r) => [String(r.sequence), r]));
        for (const e of events) {
          const r = bySeq.get(String(e.sequence));
          check(r, `changelog lacks sequence ${e.sequence}`);
          check(r.operation === e.operation && r.row_id === e.rowId && r.source === ctx.source("durable"), `changelog row ${e.sequence}: ${JSON.stringify(r)} does not match the event`);
          if (e.after) check(typeof r.after === "string" && canon(parseJson(r.after)) === canon(e.after), `changelog row ${e.sequence}: after ${String(r.after)} is not the image sent`);
        }
      },
    },
  ];
}
