// Test helpers for workerd tests: open CDC sockets through the real Worker and read answers.
import { SELF } from "cloudflare:test";
import { decodeServerFrame, serverMessageToJson } from "../../src/protocol/frames.js";
import { decodeSubscribeServerFrame, subscribeServerMessageToJson } from "../../src/protocol/subscribe-frames.js";
import type { JsonObject } from "../../src/util/json.js";
import { create, toBinary } from "@bufbuild/protobuf";
import { ClientMessageSchema } from "../../gen/dolake/cdc/v1/cdc_pb.js";

/** The bearer header every test request carries. */
export const AUTH = { Authorization: "Bearer test-token" };

/** A CDC socket: send frames, await answers (decoded to their published JSON objects). */
export interface TestSocket {
  ws: WebSocket;
  sendJson(obj: unknown): void;
  sendText(text: string): void;
  sendBinary(message: Parameters<typeof create<typeof ClientMessageSchema>>[1]): void;
  sendBytes(bytes: Uint8Array): void;
  next(timeoutMs?: number): Promise<JsonObject & { type: string; binary: boolean }>;
  closed: Promise<{ code: number; reason: string }>;
}

const open = new Set<WebSocket>();

/** Closes every socket the helpers opened (call in afterEach). */
export function closeAll(): void {
  for (const ws of open) {
    try {
      ws.close(1000, "test done");
    } catch {
      // already closed
    }
  }
  open.clear();
}

/** Opens /ws through the Worker. */
export function openSocket(headers: Record<string, string> = {}): Promise<TestSocket> {
  return openFrames("/ws", headers, (frame) => serverMessageToJson(decodeServerFrame(frame)));
}

/** Opens a change-stream socket (/v1/subscribe) through the Worker; answers are subscribe server messages. */
export function openSubscriber(headers: Record<string, string> = {}, query = ""): Promise<TestSocket> {
  return openFrames(`/v1/subscribe${query}`, headers, (frame) => subscribeServerMessageToJson(decodeSubscribeServerFrame(frame)));
}

async function openFrames(path: string, headers: Record<string, string>, decode: (frame: string | Uint8Array) => JsonObject): Promise<TestSocket> {
  const res = await SELF.fetch(`http://lake${path}`, { headers: { Upgrade: "websocket", ...AUTH, ...headers } });
  if (res.status !== 101 || !res.webSocket) throw new Error(`upgrade failed: ${res.status} ${await res.text()}`);
  const ws = res.webSocket;
  open.add(ws);
  const queue: Array<JsonObject & { type: string; binary: boolean }> = [];
  const waiters: Array<(m: JsonObject & { type: string; binary: boolean }) => void> = [];
  let closedResolve!: (v: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((r) => (closedResolve = r));
  // Client-side sockets in workerd deliver binary frames as Blobs: decode in arrival order.
  let chain = Promise.resolve();
  ws.addEventListener("message", (ev) => {
    const data = ev.data as string | ArrayBuffer | Blob;
    chain = chain.then(async () => {
      const binary = typeof data !== "string";
      const frame = typeof data === "string" ? data : new Uint8Array(data instanceof Blob ? await data.arrayBuffer() : data);
      const msg = { ...decode(frame), binary };
      const w = waiters.shift();
      if (w) w(msg as never);
      else queue.push(msg as never);
    });
  });
  ws.addEventListener("close", (ev) => closedResolve({ code: ev.code, reason: ev.reason }));
  ws.accept();
  return {
    ws,
    closed,
    sendJson: (obj) => ws.send(JSON.stringify(obj, (_k, v) => (typeof v === "bigint" ? Number(v) : v))),
    sendText: (text) => ws.send(text),
    sendBinary: (message) => ws.send(toBinary(ClientMessageSchema, create(ClientMessageSchema, message))),
    sendBytes: (bytes) => ws.send(bytes),
    next: (timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const m = queue.shift();
        if (m) return resolve(m);
        const t = setTimeout(() => reject(new Error("no message within timeout")), timeoutMs);
        waiters.push((msg) => {
          clearTimeout(t);
          resolve(msg);
        });
      }),
  };
}

/**
 * The `buffered` ack of batch `sequenceNumber`, skipping other answers on the way: after a flush the
 * socket also receives `persisted` acks, which would otherwise be taken for the next batch's ack.
 */
export async function bufferedAck(s: TestSocket, sequenceNumber: number): Promise<JsonObject & { type: string }> {
  for (;;) {
    const m = await s.next();
    if (m.type === "ack" && m.status === "buffered" && Number(m.sequenceNumber) === sequenceNumber) return m;
    if (m.type === "nack") throw new Error(`batch ${sequenceNumber} refused: ${JSON.stringify(m)}`);
  }
}

/** A JSON cdc_batch for `source` with events from..to (INSERTs into `table` unless ops given). */
export function jsonBatch(source: string, batchNumber: number, from: number, to: number, table = "users") {
  const events = [];
  for (let s = from; s <= to; s++) {
    events.push({ sequence: s, timestamp: 1704067200000 + s, operation: "INSERT", table, rowId: `r${s}`, after: { id: s, name: `n${s}` } });
  }
  return { type: "cdc_batch", timestamp: Date.now(), sourceDoId: source, sequenceNumber: batchNumber, firstEventSequence: from, lastEventSequence: to, events };
}

/** Applies runtime config overrides (PATCH /config). */
export async function configure(patch: Record<string, unknown>): Promise<void> {
  const res = await SELF.fetch("http://lake/config", { method: "PATCH", headers: AUTH, body: JSON.stringify(patch) });
  // Read whole: an unread body holds a reference to the object (evictDurableObject waits for it).
  const text = await res.text();
  if (!res.ok) throw new Error(`PATCH /config: ${res.status} ${text}`);
}

/** GET a JSON route. */
export async function getJson(path: string): Promise<any> {
  const res = await SELF.fetch(`http://lake${path}`, { headers: AUTH });
  return res.json();
}

/** POST /flush: flushes the buffer now. */
export async function flushNow(): Promise<{ status: number; body: any }> {
  const res = await SELF.fetch("http://lake/flush", { method: "POST", headers: AUTH });
  return { status: res.status, body: await res.json() };
}
