/**
 * A CDC WebSocket client for the suite: sends published-JSON messages in either encoding, queues
 * answers, and keeps unprompted persisted acks apart so a flush elsewhere never confuses a test.
 */
import WebSocket from "ws";
import { decodeServer, type Encoding, encodeClient, type Protocol, type Published } from "./proto-json.js";

/** An answer from the server. */
export type Answer = Published & { binary: boolean };

/** Where and how to connect. */
export interface Target {
  url: string;
  token: string;
}

/** Spaces new connections so the suite stays under the server's connectionsPerSecond. */
export class ConnectionPacer {
  private next = 0;
  constructor(public perSecond: number) {}
  /** Waits for the next slot. */
  async slot(): Promise<void> {
    const gap = 1000 / Math.max(0.5, this.perSecond * 0.5);
    const now = Date.now();
    const at = Math.max(now, this.next);
    this.next = at + gap;
    if (at > now) await sleep(at - now);
  }
}

/** Waits `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The /ws URL of a base URL. */
export function wsUrl(base: string): string {
  return `${base.replace(/^http/, "ws").replace(/\/$/, "")}/ws`;
}

/** One CDC connection. */
export class CdcSocket {
  private readonly queue: Answer[] = [];
  private readonly waiters: Array<(m: Answer) => void> = [];
  /** Persisted acks received so far (they arrive unprompted, after flushes). */
  readonly persisted: Answer[] = [];
  /** Frames the server sent that the suite could not decode. */
  readonly undecodable: string[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(
    readonly ws: WebSocket,
    readonly encoding: Encoding,
    readonly protocol: Protocol,
  ) {
    let done!: (v: { code: number; reason: string }) => void;
    this.closed = new Promise((r) => (done = r));
    ws.on("close", (code, reason) => done({ code, reason: reason.toString() }));
    ws.on("message", (data, isBinary) => {
      let m: Answer;
      try {
        m = decodeServer(isBinary ? new Uint8Array(data as Buffer) : (data as Buffer).toString("utf8"), protocol);
      } catch (e) {
        this.undecodable.push((e as Error).message);
        return;
      }
      if (m.type === "ack" && m.status === "persisted") {
        this.persisted.push(m);
        this.wakePersisted.forEach((w) => w());
        return;
      }
      const w = this.waiters.shift();
      if (w) w(m);
      else this.queue.push(m);
    });
  }
  private wakePersisted: Array<() => void> = [];

  /** Opens a socket (after a pacing slot). Rejects with the HTTP status when the upgrade is refused. */
  static async open(target: Target, encoding: Encoding, pacer?: ConnectionPacer, opts: { token?: string | null; protocol?: Protocol } = {}): Promise<CdcSocket> {
    await pacer?.slot();
    const token = opts.token === undefined ? target.token : opts.token;
    const protocol = opts.protocol ?? "cdc";
    const url = protocol === "cdc" ? wsUrl(target.url) : `${target.url.replace(/^http/, "ws").replace(/\/$/, "")}/v1/subscribe`;
    const ws = new WebSocket(url, { headers: token === null ? {} : { Authorization: `Bearer ${token}` } });
    ws.binaryType = "nodebuffer";
    const socket = new CdcSocket(ws, encoding, protocol);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => reject(Object.assign(new Error(`upgrade refused: HTTP ${res.statusCode} ${body}`), { status: res.statusCode, body })));
      });
      ws.once("error", reject);
    });
    return socket;
  }

  /** Sends a message in this socket's encoding. */
  send(obj: Published): void {
    this.ws.send(encodeClient(obj, this.encoding, this.protocol));
  }

  /** Sends raw bytes (binary frame) or text. */
  sendRaw(data: string | Uint8Array): void {
    this.ws.send(data);
  }

  /** The next answer (persisted acks excepted). */
  next(timeoutMs = 10_000): Promise<Answer> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      const w = (msg: Answer) => {
        clearTimeout(t);
        resolve(msg);
      };
      this.waiters.push(w);
    });
  }

  /** Sends and waits for the next answer. */
  async ask(obj: Published, timeoutMs?: number): Promise<Answer> {
    this.send(obj);
    return this.next(timeoutMs);
  }

  /** Waits until a persisted ack matching `pred` arrived. */
  async waitPersisted(pred: (m: Answer) => boolean, timeoutMs = 30_000): Promise<Answer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.persisted.find(pred);
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no persisted ack within ${timeoutMs} ms (got ${this.persisted.length} others)`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.wakePersisted.push(() => {
          clearTimeout(t);
          r();
        });
      });
      this.wakePersisted = [];
    }
  }

  /** Answers that arrived and were not read. */
  pending(): number {
    return this.queue.length;
  }

  /** Closes the socket and waits for the close. */
  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    try {
      this.ws.close(1000, "conformance done");
    } catch {
      // already closing
    }
    await Promise.race([this.closed, sleep(2000)]);
    if ((this.ws.readyState as number) !== WebSocket.CLOSED) this.ws.terminate();
  }
}
