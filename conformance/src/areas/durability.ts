/**
 * Area 2, durability and exactly-once as seen from outside: a workload streamed with a reconnect
 * in the middle and replays of acked batches must land exactly once, before and after flushes,
 * and the catalog's snapshots must hold exactly the rows sent (live rows = total-records -
 * total-position-deletes, per the snapshot summaries).
 */
import type { Ctx } from "../context.js";
import { check, expectMatch, is, type TestCase } from "../harness.js";
import { big } from "../json.js";
import type { Published } from "../proto-json.js";
import { batches, buildWorkload, type Workload } from "../workload.js";

/** What the data area reads back: the table, the expected states and the snapshot after each phase. */
export interface Streamed {
  workload: Workload;
  namespace: string;
  snapshotIds: string[];
  changelogRows: number;
}

async function flush(ctx: Ctx, source: string, encoding: "binary" | "json"): Promise<Published> {
  const { s } = await ctx.connect(encoding, source);
  const fr = await s.ask({ type: "flush_request", correlationId: "dur", sourceDoId: source }, 60_000);
  expectMatch(fr, { type: "flush_result", ok: true }, "flush_result");
  await s.close();
  return fr;
}

async function summary(ctx: Ctx, table: string): Promise<{ snapshotId: string; live: number; totalRecords: number }> {
  const res = await ctx.http("GET", `/v1/namespaces/${ctx.cdcNamespace}/tables/${table}`);
  check(res.status === 200, `load ${table}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
  const m = res.json.metadata;
  const id = big(m["current-snapshot-id"]);
  const snap = (m.snapshots as Array<Record<string, any>>).find((x) => big(x["snapshot-id"]) === id); // eslint-disable-line @typescript-eslint/no-explicit-any
  check(snap, `${table}: current snapshot ${id} not in snapshots`);
  const total = Number(snap.summary["total-records"] ?? 0);
  const deletes = Number(snap.summary["total-position-deletes"] ?? 0);
  return { snapshotId: id.toString(), live: total - deletes, totalRecords: total };
}

/** The durability cases. */
export function durabilityCases(): Array<TestCase<Ctx>> {
  return [
    {
      id: "durability.exactly-once",
      area: "durability",
      title: "stream with a reconnect mid-stream and replays: every event applied once; the table holds exactly the rows sent after each flush",
      async run(ctx) {
        const source = ctx.source("durable");
        const workload = buildWorkload(ctx.table("durable"));
        const snapshotIds: string[] = [];
        let batchNo = 1;
        for (const [phase, events] of workload.phases.entries()) {
          const enc = phase === 0 ? "binary" : "json";
          const bs = batches(source, events, 7, batchNo);
          batchNo += bs.length;
          const half = Math.floor(bs.length / 2);
          // First half; then drop the socket without reading the last ack.
          let { s } = await ctx.connect(enc, source);
          for (const b of bs.slice(0, half)) expectMatch(await s.ask(b), { type: "ack", status: is.oneOf("buffered", "fallback") }, `batch ${b.sequenceNumber}`);
          s.send(bs[half]!);
          s.ws.terminate();
          // Resume from connected.lastAckSequence, replaying from the start of the phase: acked batches are duplicates.
          const again = await ctx.connect(enc, source);
          s = again.s;
          const resume = big(again.connected.lastAckSequence);
          check(resume >= big(bs[half - 1]!.lastEventSequence), `connected.lastAckSequence ${resume} is below the last acked sequence ${bs[half - 1]!.lastEventSequence}`);
          let dups = 0;
          for (const b of bs) {
            const ack = await s.ask(b);
            const expectDup = big(b.lastEventSequence) <= resume;
            expectMatch(ack, { type: "ack", status: expectDup ? "duplicate" : is.oneOf("buffered", "fallback") }, `batch ${b.sequenceNumber} after reconnect`);
            if (expectDup) dups++;
          }
          check(dups >= half, `only ${dups} replayed batches were duplicates`);
          await s.close();
          await flush(ctx, source, enc);
          const sum = await summary(ctx, workload.table);
          check(sum.live === workload.states[phase]!.size, `after phase ${phase + 1}: the table has ${sum.live} live rows (total-records - total-position-deletes), sent ${workload.states[phase]!.size}`);
          snapshotIds.push(sum.snapshotId);
        }
        const changelog = await summary(ctx, `${workload.table}${(ctx.caps.cdc as { changelogSuffix?: string })?.changelogSuffix ?? "__changelog"}`);
        const events = workload.phases.flat().length;
        check(changelog.totalRecords === events, `changelog has ${changelog.totalRecords} rows, ${events} events were sent`);
        ctx.shared.set("streamed", { workload, namespace: ctx.cdcNamespace, snapshotIds, changelogRows: events } satisfies Streamed);
        return `${events} events, ${workload.states[1]!.size} live rows, ${snapshotIds.length} snapshots`;
      },
    },
    {
      id: "durability.replay-after-flush",
      area: "durability",
      title: "replaying every batch after the flush: all duplicates, and a new flush leaves the table as it was",
      async run(ctx) {
        const streamed = ctx.shared.get("streamed") as Streamed | undefined;
        check(streamed, "durability.exactly-once did not complete");
        const source = ctx.source("durable");
        const before = await summary(ctx, streamed.workload.table);
        const { s, connected } = await ctx.connect("json", source);
        const last = streamed.workload.phases.flat().length;
        expectMatch(connected, { lastAckSequence: last, lastPersistedSequence: last }, "connected after the flushes");
        for (const b of batches(source, streamed.workload.phases.flat(), 7)) expectMatch(await s.ask(b), { status: "duplicate", details: { eventsProcessed: 0 } }, `replay of ${b.sequenceNumber}`);
        await s.close();
        await flush(ctx, source, "json");
        const after = await summary(ctx, streamed.workload.table);
        expectMatch(after, before, "table after the replays and a flush");
      },
    },
    {
      id: "durability.http-status",
      area: "durability",
      title: "GET /status reports the source's acked and persisted marks; POST /flush answers a FlushResult",
      requires: ["http.status", "http.flush"],
      async run(ctx) {
        const flushed = await ctx.http("POST", "/flush");
        check(flushed.status === 200, `POST /flush: ${flushed.status} ${flushed.text}`);
        expectMatch(flushed.json, { ok: true, eventsFlushed: is.number, tables: Array.isArray }, "POST /flush");
        const st = await ctx.http("GET", "/status");
        const mine = (st.json.sources as Array<Record<string, unknown>>).find((x) => x.sourceDoId === ctx.source("durable"));
        check(mine, "GET /status lists no entry for the streamed source");
        const n = (ctx.shared.get("streamed") as Streamed | undefined)?.workload.phases.flat().length;
        if (n) expectMatch(mine, { lastAckSequence: n, lastPersistedSequence: n }, "source status");
      },
    },
      {
      id: "durability.compaction",
      area: "durability",
      title: "POST /v1/compaction/run on the streamed table answers what it did and leaves exactly the rows sent; candidates and metrics answer",
      requires: ["http.compaction"],
      async run(ctx) {
        const streamed = ctx.shared.get("streamed") as Streamed | undefined;
        check(streamed, "durability.exactly-once did not complete");
        const table = streamed.workload.table;
        const res = await ctx.http("POST", "/v1/compaction/run", { namespace: ctx.cdcNamespace, table });
        check(res.status === 200, `POST /v1/compaction/run: ${res.status} ${res.text.slice(0, 300)}`);
        expectMatch(res.json, { table: `${ctx.cdcNamespace}.${table}`, steps: Array.isArray, snapshotsExpired: is.number, remaining: Array.isArray }, "compaction run");
        const after = await summary(ctx, table);
        const want = streamed.workload.states[streamed.workload.states.length - 1]!.size;
        check(after.live === want, `after compaction the table has ${after.live} live rows (total-records - total-position-deletes), sent ${want}`);
        const missing = await ctx.http("POST", "/v1/compaction/run", { namespace: ctx.cdcNamespace, table: `${table}_no_such_table` });
        check(missing.status === 404, `compaction of a missing table: ${missing.status}, expected 404`);
        const candidates = await ctx.http("GET", "/v1/compaction/candidates");
        check(candidates.status === 200 && Array.isArray(candidates.json.tables), `GET /v1/compaction/candidates: ${candidates.status} ${candidates.text.slice(0, 200)}`);
        const metrics = await ctx.http("GET", "/v1/compaction/metrics");
        expectMatch(metrics.json, { runs: is.number, steps: is.number, filesRewritten: is.number }, "GET /v1/compaction/metrics");
        const steps = (res.json.steps as unknown[]).length;
        return `${steps} step(s), ${want} live rows kept`;
      },
    },
  ];
}
