/**
 * Where a source sends its changes: a DoLake reached through a Durable Object namespace in the
 * same Worker, a service binding, or a URL with a token. Each gives the pump a connected
 * WebSocket (fetch() with `Upgrade: websocket`, the way a Durable Object opens one) and a socket
 * reader that turns frames into ServerMessages in arrival order.
 */
import type { ServerMessage } from "../../gen/dolake/cdc/v1/cdc_pb.js";
import { WAREHOUSE_HEADER } from "../do/warehouse.js";
import { decodeServerFrame } from "../protocol/frames.js";

/** Something that opens a CDC WebSocket to a DoLake. */
export interface CdcDestination {
  /** A name for logs and metrics. */
  readonly name: string;
  /** Opens /ws; throws when DoLake cannot be reached or refuses. */
  connect(): Promise<WebSocket>;
}

/** Anything with fetch(): a Durable Object stub, a service binding, or globalThis. */
export interface FetchLike {
  fetch(request: Request): Promise<Response>;
}

/** The part of a DurableObjectNamespace (of the DoLake class) the pump uses. */
export interface NamespaceLike {
  idFromName(name: string): DurableObjectId;
  get(id: DurableObjectId): FetchLike;
}

async function upgrade(fetcher: FetchLike, request: Request): Promise<WebSocket> {
  const res = await fetcher.fetch(request);
  const ws = res.webSocket;
  if (res.status !== 101 || !ws) throw new Error(`DoLake refused the WebSocket: ${res.status} ${await res.text().catch(() => "")}`.trim());
  ws.accept();
  return ws;
}

/**
 * A DoLake object in the same Worker (the DOLAKE namespace of wrangler.jsonc). The object is
 * chosen by warehouse name, as the DoLake Worker does; the binding is the authentication.
 */
export function dolakeNamespace(namespace: NamespaceLike, warehouse = "warehouse"): CdcDestination {
  return {
    name: `namespace:${warehouse}`,
    connect: () => {
      const stub = namespace.get(namespace.idFromName(warehouse));
      return upgrade(stub, new Request("https://dolake/ws", { headers: { Upgrade: "websocket", [WAREHOUSE_HEADER]: warehouse } }));
    },
  };
}

/**
 * A DoLake Worker at `url` (https:// or http://) with its bearer token; `fetcher` is a service
 * binding to that Worker, or the global fetch when omitted.
 */
export function dolakeUrl(url: string, token: string, options: { warehouse?: string; fetcher?: FetchLike } = {}): CdcDestination {
  const target = new URL(url.replace(/^ws/, "http"));
  target.pathname = `${target.pathname.replace(/\/$/, "")}/ws`;
  if (options.warehouse) target.searchParams.set("warehouse", options.warehouse);
  const fetcher = options.fetcher ?? { fetch: (r: Request) => fetch(r) };
  return {
    name: `url:${target.host}`,
    connect: () => upgrade(fetcher, new Request(target, { headers: { Upgrade: "websocket", Authorization: `Bearer ${token}` } })),
  };
}

/** Reads a socket's ServerMessages in order; `next` rejects on timeout or close. */
export class SocketReader {
  private readonly queue: ServerMessage[] = [];
  private waiter: { resolve: (m: ServerMessage) => void; reject: (e: Error) => void } | undefined;
  private ended: Error | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (ev) => {
      const data = ev.data as string | ArrayBuffer | Blob;
      // Some runtimes hand binary frames over as Blobs: decode in arrival order.
      this.chain = this.chain.then(async () => {
        try {
          const frame = typeof data === "string" ? data : new Uint8Array(data instanceof Blob ? await data.arrayBuffer() : data);
          this.deliver(decodeServerFrame(frame));
        } catch (e) {
          this.end(e instanceof Error ? e : new Error(String(e)));
        }
      });
    });
    ws.addEventListener("close", (ev) => this.end(new Error(`DoLake closed the socket: ${ev.code} ${ev.reason}`.trim())));
    ws.addEventListener("error", () => this.end(new Error("DoLake socket error")));
  }

  private deliver(m: ServerMessage): void {
    const w = this.waiter;
    this.waiter = undefined;
    if (w) w.resolve(m);
    else this.queue.push(m);
  }

  private end(e: Error): void {
    this.ended ??= e;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(e);
  }

  /** The next message, skipping none; rejects after `timeoutMs` or when the socket ends. */
  next(timeoutMs: number): Promise<ServerMessage> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no answer from DoLake within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        resolve: (msg) => {
          clearTimeout(t);
          resolve(msg);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      };
    });
  }

  /** Closes the socket (idempotent). */
  close(): void {
    try {
      this.ws.close(1000, "pump done");
    } catch {
      // already closed
    }
  }
}
