/**
 * The Orders Durable Object: a small application that keeps orders in its own SQLite and knows
 * nothing about Iceberg. One line (enableCdc) streams every committed change into DoLake.
 */
import { DurableObject } from "cloudflare:workers";
import { type Cdc, dolakeNamespace, enableCdc, OUTBOX_FULL } from "../../../src/source/index.js";
import type { ExampleEnv } from "./env.js";

/** One order as the API takes it. */
interface OrderInput {
  id?: number | string;
  customer?: string;
  amount_cents?: number | string;
  status?: string;
}

/** One step of POST /orders/batch. */
type Step = { op: "insert"; order: OrderInput } | { op: "update"; id: number | string; set: OrderInput } | { op: "delete"; id: number | string };

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The orders application object. */
export class Orders extends DurableObject<ExampleEnv> {
  readonly cdc: Cdc;

  constructor(ctx: DurableObjectState, env: ExampleEnv) {
    super(ctx, env);
    // The application's own schema first, then CDC (a redeploy's new columns are captured from the start).
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS orders (
      id INTEGER PRIMARY KEY, customer TEXT NOT NULL, amount_cents INTEGER NOT NULL,
      status TEXT NOT NULL DEFAULT 'new', updated_at INTEGER NOT NULL)`);
    this.cdc = enableCdc(ctx, {
      tables: ["orders"],
      destination: dolakeNamespace(env.DOLAKE, env.WAREHOUSE || "warehouse"),
      sourceId: `orders-${ctx.id.toString().slice(0, 16)}`,
      maxOutboxEvents: Number(env.ORDERS_MAX_OUTBOX || 100_000),
    });
  }

  override async fetch(request: Request): Promise<Response> {
    try {
      return await this.route(request);
    } catch (e) {
      if (e instanceof ApiError) return Response.json({ error: e.message }, { status: e.status });
      const message = e instanceof Error ? e.message : String(e);
      // The outbox is at its bound (DoLake unreachable for long): the write was refused, not lost.
      if (message.includes(OUTBOX_FULL)) return Response.json({ error: message }, { status: 503, headers: { "Retry-After": "5" } });
      if (message.includes("constraint failed")) return Response.json({ error: message }, { status: 409 });
      throw e;
    }
  }

  private async route(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const parts = url.pathname.split("/").filter(Boolean); // ["orders", id?] or ["cdc", ...]
    const body = request.method === "POST" || request.method === "PATCH" ? await readJson(request) : undefined;
    const route = `${request.method} /${parts[0] ?? ""}${parts[1] ? `/${parts[1] === "batch" || parts[0] === "cdc" ? parts[1] : ":id"}` : ""}`;
    switch (route) {
      case "GET /orders":
        return Response.json(this.list());
      case "POST /orders": {
        const order = this.ctx.storage.transactionSync(() => this.insert((body ?? {}) as OrderInput));
        return this.written(Response.json(order, { status: 201 }));
      }
      case "POST /orders/batch": {
        const steps = (body as { steps?: Step[] } | undefined)?.steps ?? [];
        // All or nothing: a failing step rolls back every step (and its captured changes) with it.
        const applied = this.ctx.storage.transactionSync(() => steps.map((s) => this.apply(s)));
        return this.written(Response.json({ applied: applied.length }));
      }
      case "GET /orders/:id":
        return Response.json(this.get(parts[1]!) ?? notFound(parts[1]!));
      case "PATCH /orders/:id":
        return this.written(Response.json(this.ctx.storage.transactionSync(() => this.update(parts[1]!, (body ?? {}) as OrderInput))));
      case "DELETE /orders/:id":
        this.ctx.storage.transactionSync(() => this.remove(parts[1]!));
        return this.written(new Response(null, { status: 204 }));
      case "GET /cdc/status":
        return new Response(stringify({ lag: this.cdc.lag(), slots: this.cdc.slots.listSlots() }), { headers: { "Content-Type": "application/json" } });
      case "GET /cdc/metrics":
        return new Response(this.cdc.metrics(), { headers: { "Content-Type": "text/plain; version=0.0.4" } });
      default:
        throw new ApiError(404, `no route ${request.method} ${url.pathname}`);
    }
  }

  /** After a write: wake the pump (an alarm), then answer. */
  private async written(res: Response): Promise<Response> {
    await this.cdc.notify();
    return res;
  }

  override async alarm(): Promise<void> {
    await this.cdc.alarm();
  }

  private apply(s: Step): unknown {
    if (s.op === "insert") return this.insert(s.order);
    if (s.op === "update") return this.update(s.id, s.set);
    if (s.op === "delete") return this.remove(s.id);
    throw new ApiError(400, `unknown step ${JSON.stringify(s)}`);
  }

  private insert(o: OrderInput): unknown {
    if (!o.customer || o.amount_cents === undefined) throw new ApiError(400, "customer and amount_cents are required");
    return this.ctx.storage.sql
      .exec("INSERT INTO orders (id, customer, amount_cents, status, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING CAST(id AS TEXT) AS id", o.id === undefined ? null : String(o.id), o.customer, String(o.amount_cents), o.status ?? "new", Date.now())
      .one();
  }

  private update(id: number | string, set: OrderInput): unknown {
    const cur = this.get(id) ?? notFound(id);
    this.ctx.storage.sql.exec(
      "UPDATE orders SET customer = ?, amount_cents = ?, status = ?, updated_at = ? WHERE id = ?",
      set.customer ?? cur.customer,
      String(set.amount_cents ?? cur.amount_cents),
      set.status ?? cur.status,
      Date.now(),
      String(id),
    );
    return this.get(id);
  }

  private remove(id: number | string): void {
    if (this.ctx.storage.sql.exec("DELETE FROM orders WHERE id = ?", String(id)).rowsWritten === 0) notFound(id);
  }

  private get(id: number | string): Record<string, string | number> | undefined {
    return this.ctx.storage.sql.exec<Record<string, string | number>>(`${SELECT} WHERE id = ?`, String(id)).toArray()[0];
  }

  private list(): Record<string, string | number>[] {
    return this.ctx.storage.sql.exec<Record<string, string | number>>(`${SELECT} ORDER BY orders.id`).toArray(); // the table's integer id, not the text alias
  }
}

/** 64-bit columns are read as text: the SQL API would round them to doubles. */
const SELECT = "SELECT CAST(id AS TEXT) AS id, customer, CAST(amount_cents AS TEXT) AS amount_cents, status, updated_at FROM orders";

function notFound(id: number | string): never {
  throw new ApiError(404, `no order ${id}`);
}

/** The request body as JSON; undefined when empty. */
async function readJson(request: Request): Promise<unknown> {
  const text = await request.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, "body is not JSON");
  }
}

function stringify(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
}
