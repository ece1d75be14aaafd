// Server-Sent Events at GET /v1/subscribe (Accept: text/event-stream): history then live, the
// cursor as each event's id, resume with Last-Event-ID, and HTTP errors for subscriptions that
// cannot start (which EventSource does not retry).
import { SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { AUTH, bufferedAck, closeAll, flushNow, openSocket, type TestSocket } from "../helpers.js";

afterEach(() => closeAll());

let seq = 0;
async function produce(p: TestSocket, n: number, ids: number[]): Promise<void> {
  const events = ids.map((id) => ({ sequence: ++seq, operation: "INSERT", table: "s_sse", rowId: String(id), after: { id } }));
  p.sendJson({ type: "cdc_batch", sourceDoId: "sse-src", sequenceNumber: n, events });
  await bufferedAck(p, n);
}

/** Reads SSE events from a response body until `stop` says so. */
async function readEvents(res: Response, stop: (events: Array<{ id?: string; event: string; data: any }>) => boolean) {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: Array<{ id?: string; event: string; data: any }> = [];
  let text = "";
  while (!stop(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = text.indexOf("\n\n")) >= 0) {
      const block = text.slice(0, cut);
      text = text.slice(cut + 2);
      const fields = Object.fromEntries(block.split("\n").filter((l) => l && !l.startsWith(":")).map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 2)]));
      if (fields.event) events.push({ id: fields.id, event: fields.event, data: JSON.parse(fields.data!) });
    }
  }
  await reader.cancel();
  return events;
}

const sse = (query: string, headers: Record<string, string> = {}) => SELF.fetch(`http://lake/v1/subscribe?${query}`, { headers: { ...AUTH, Accept: "text/event-stream", ...headers } });
const changes = (events: Array<{ event: string; data: any }>) => events.filter((e) => e.event === "change_batch").flatMap((e) => e.data.events.map((x: any) => x.rowId));

describe("subscribe over SSE", () => {
  it("streams history then live changes, each batch with its cursor as the event id, and resumes from Last-Event-ID", async () => {
    const p = await openSocket();
    await produce(p, 1, [1, 2, 3]);
    expect((await flushNow()).body.ok).toBe(true);
    await produce(p, 2, [4]);
    const res = await sse("tables=s_sse&from=earliest&maxBatchEvents=1");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("text/event-stream");
    const first = readEvents(res, (ev) => changes(ev).length >= 5);
    await new Promise((r) => setTimeout(r, 50));
    await produce(p, 3, [5]);
    const events = await first;
    expect(events[0]).toMatchObject({ event: "subscribed", data: { type: "subscribed", cursor: "0" } });
    expect(changes(events)).toEqual(["1", "2", "3", "4", "5"]);
    expect(events.some((e) => e.event === "up_to_date")).toBe(true);
    for (const e of events.filter((x) => x.event === "change_batch")) expect(e.id).toBe(e.data.cursor);
    const second = events.filter((e) => e.event === "change_batch")[1]!;
    const resumed = await readEvents(await sse("tables=s_sse&from=earliest", { "Last-Event-ID": second.id! }), (ev) => changes(ev).length >= 3);
    expect(changes(resumed)).toEqual(["3", "4", "5"]);
  });

  it("refuses a subscription that cannot start with an HTTP error body", async () => {
    const ahead = await sse("cursor=99999999999");
    expect(ahead.status).toBe(400);
    expect(await ahead.json()).toMatchObject({ error: { type: "BadRequestException", message: expect.stringContaining("ahead") } });
    const badOp = await sse("operations=UPSERT");
    expect(badOp.status).toBe(400);
    const plain = await SELF.fetch("http://lake/v1/subscribe", { headers: AUTH });
    expect(plain.status).toBe(426);
    const anonymous = await SELF.fetch("http://lake/v1/subscribe", { headers: { Accept: "text/event-stream" } });
    expect(anonymous.status).toBe(401);
  });
});
