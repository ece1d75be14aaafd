/**
 * Area 5, change streams (proto/dolake/subscribe/v1 over /v1/subscribe), against any deployment:
 * the suite's codec reproduces the golden vectors; a subscription replays a table's history
 * (flushed and buffered changes) in order, marks up_to_date, then streams live acks; a cursor
 * resumes with nothing lost or doubled; credits hold batches back; bad requests get typed errors.
 */
import type { Ctx } from "../context.js";
import type { Json } from "../json.js";
import { insertBatch } from "../context.js";
import { check, expectMatch, is, type TestCase } from "../harness.js";
import { clientFromBinary, clientToBinary, type Encoding, type Published, serverFromBinary, serverToBinary } from "../proto-json.js";
import type { CdcSocket } from "../socket.js";
import { loadVectors } from "./golden.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** Streams 3 inserts (flushed), then an update and a delete (buffered); returns the producer socket. */
async function seed(ctx: Ctx, enc: Encoding, source: string, table: string): Promise<CdcSocket> {
  const { s } = await ctx.connect(enc, source);
  expectMatch(await s.ask(insertBatch(source, 1, 1, 3, table)), { type: "ack", status: is.oneOf("buffered", "fallback") }, "batch 1");
  expectMatch(await s.ask({ type: "flush_request", correlationId: "sub", sourceDoId: source }, 60_000), { type: "flush_result", ok: true }, "flush_result");
  const events = [
    { sequence: 4, timestamp: 1_704_067_200_004, operation: "UPDATE", table, rowId: "r2", after: { id: 2, name: "changed" } },
    { sequence: 5, timestamp: 1_704_067_200_005, operation: "DELETE", table, rowId: "r3" },
  ] as Json[];
  expectMatch(await s.ask({ type: "cdc_batch", timestamp: Date.now(), sourceDoId: source, sequenceNumber: 2, events }), { type: "ack", status: "buffered" }, "batch 2");
  return s;
}

/** Subscribes and returns the `subscribed` answer. */
async function subscribe(ctx: Ctx, enc: Encoding, body: Record<string, unknown>): Promise<{ sub: CdcSocket; subscribed: Published }> {
  const sub = await ctx.open(enc, { protocol: "subscribe" });
  const subscribed = await sub.ask({ type: "subscribe", ...body } as Published);
  expectMatch(subscribed, { type: "subscribed", cursor: is.string, head: is.string, earliest: is.string }, "subscribed");
  return { sub, subscribed };
}

/** Reads change batches (skipping up_to_date) until `n` events arrived. */
async function events(sub: CdcSocket, n: number): Promise<{ events: Array<Record<string, unknown>>; cursor: string; upToDate: boolean }> {
  const out: Array<Record<string, unknown>> = [];
  let cursor = "";
  let upToDate = false;
  while (out.length < n) {
    const m = await sub.next(30_000);
    if (m.type === "up_to_date") upToDate = true;
    else if (m.type === "change_batch") {
      out.push(...((m.events as Array<Record<string, unknown>> | undefined) ?? []));
      cursor = String(m.cursor);
    } else throw new Error(`expected change_batch, got ${JSON.stringify(m).slice(0, 300)}`);
  }
  return { events: out, cursor, upToDate };
}

const shape = (e: Record<string, unknown>) => `${e.operation} ${e.rowId}`;

function encodingCases(enc: Encoding): Array<TestCase<Ctx>> {
  return [
    {
      id: `subscribe.${enc}.history-then-live`,
      area: "subscribe",
      title: `${enc}: history (flushed and buffered) in log order, up_to_date, then a live ack`,
      async run(ctx) {
        const source = ctx.source(`sub-${enc}`);
        const table = ctx.table(`sub_${enc}`);
        const producer = await seed(ctx, enc, source, table);
        const { sub } = await subscribe(ctx, enc, { tables: [table], from: "earliest", credits: 100 });
        const history = await events(sub, 5);
        check(history.events.map(shape).join(", ") === "INSERT r1, INSERT r2, INSERT r3, UPDATE r2, DELETE r3", `history: ${history.events.map(shape).join(", ")}`);
        const positions = history.events.map((e) => BigInt(e.position as number));
        check(positions.every((p, i) => i === 0 || p > positions[i - 1]!), `positions not increasing: ${positions.join(", ")}`);
        expectMatch(history.events[3], { table, source, sequence: 4, after: { id: 2, name: "changed" } }, "the update");
        if (!history.upToDate) expectMatch(await sub.next(30_000), { type: "up_to_date", cursor: history.cursor }, "up_to_date after history");
        expectMatch(await producer.ask(insertBatch(source, 3, 6, 6, table)), { type: "ack", status: "buffered" }, "batch 3");
        const live = await events(sub, 1);
        check(shape(live.events[0]!) === "INSERT r6", `live: ${live.events.map(shape).join(", ")}`);
        return `positions ${positions[0]}..${live.events[0]!.position}`;
      },
    },
    {
      id: `subscribe.${enc}.resume`,
      area: "subscribe",
      title: `${enc}: a cursor resumes after its batch, nothing lost or doubled; credits hold batches back`,
      async run(ctx) {
        const source = ctx.source(`subr-${enc}`);
        const table = ctx.table(`subr_${enc}`);
        await seed(ctx, enc, source, table);
        const first = await subscribe(ctx, enc, { tables: [table], from: "earliest", credits: 1, maxBatchEvents: 2 });
        const two = await events(first.sub, 1);
        check(two.events.map(shape).join(", ") === "INSERT r1, INSERT r2", `first batch: ${two.events.map(shape).join(", ")}`);
        expectMatch(await first.sub.ask({ type: "ping", timestamp: 5 }), { type: "pong", timestamp: 5 }, "pong before any credit (no batch sent without credit)");
        await first.sub.close();
        const again = await subscribe(ctx, enc, { tables: [table], cursor: two.cursor, credits: 10 });
        expectMatch(again.subscribed, { cursor: two.cursor }, "subscribed at the cursor");
        const rest = await events(again.sub, 3);
        check(rest.events.map(shape).join(", ") === "INSERT r3, UPDATE r2, DELETE r3", `after the cursor: ${rest.events.map(shape).join(", ")}`);
      },
    },
  ];
}

/** The subscribe cases. */
export function subscribeCases(): Array<TestCase<Ctx>> {
  return [
    {
      id: "subscribe.golden",
      area: "subscribe",
      title: "suite codec: every subscribe vector round-trips between .binpb and JSON",
      async run(ctx) {
        let n = 0;
        for (const side of ["client", "server"] as const) {
          for (const v of loadVectors(ctx.opts.root, side, "subscribe")) {
            const [to, from] = side === "client" ? [clientToBinary, clientFromBinary] : [serverToBinary, serverFromBinary];
            check(hex(to(v.json, "subscribe")) === hex(v.bin), `${side}/${v.name}: encoding differs`);
            expectMatch(from(v.bin, "subscribe"), v.json, `${side}/${v.name} decode`);
            n++;
          }
        }
        return `${n} vectors`;
      },
    },
    ...encodingCases("json"),
    ...encodingCases("binary"),
    {
      id: "subscribe.errors",
      area: "subscribe",
      title: "typed errors: a cursor ahead of the log and a malformed frame (invalid_request), no token (unauthorized)",
      async run(ctx) {
        const ahead = await ctx.open("json", { protocol: "subscribe" });
        expectMatch(await ahead.ask({ type: "subscribe", cursor: "9223372036854775807" }), { type: "error", code: "invalid_request", message: is.string }, "cursor ahead");
        const closed = await Promise.race([ahead.closed, new Promise<undefined>((r) => setTimeout(r, 5000))]);
        check(closed, "the socket stays open after an error");
        const garbage = await ctx.open("json", { protocol: "subscribe" });
        garbage.sendRaw("{not json");
        expectMatch(await garbage.next(), { type: "error", code: "invalid_request" }, "malformed frame");
        const anonymous = await ctx.open("json", { protocol: "subscribe", token: null });
        expectMatch(await anonymous.next(), { type: "error", code: "unauthorized" }, "no token");
      },
    },
  ];
}
