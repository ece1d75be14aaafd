// Helpers for source CDC tests: the orders example's objects, its HTTP API, and what DoLake holds.
import { env, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import type { DoLake } from "../../src/do/dolake.js";
import type { ExampleEnv } from "../../examples/orders/src/env.js";
import type { Orders } from "../../examples/orders/src/orders.js";

/** The example's bindings. */
export const exampleEnv = env as unknown as ExampleEnv;

/** The bearer header every request carries. */
export const AUTH = { Authorization: "Bearer test-token" };

/** The orders object of a shop. */
export function orders(shop = "main"): DurableObjectStub<Orders> {
  return exampleEnv.ORDERS.get(exampleEnv.ORDERS.idFromName(shop));
}

/** The DoLake object of the default warehouse. */
export function lake(): DurableObjectStub<DoLake> {
  return exampleEnv.DOLAKE.get(exampleEnv.DOLAKE.idFromName("warehouse"));
}

/** Calls the example's HTTP API through its Worker. */
export async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await SELF.fetch(`http://example${path}`, { method, headers: AUTH, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Runs the orders object's alarm until the pump has nothing left (or `max` runs). */
export async function pumpAll(stub: DurableObjectStub<Orders> = orders(), max = 20): Promise<void> {
  for (let i = 0; i < max; i++) {
    const lag = await runInDurableObject(stub, (o: Orders) => o.cdc.lag());
    if (lag.events === 0) return;
    const ran = await runDurableObjectAlarm(stub);
    if (!ran) await runInDurableObject(stub, (o: Orders) => o.cdc.notify());
  }
  const lag = await runInDurableObject(stub, (o: Orders) => o.cdc.lag());
  throw new Error(`pump did not drain: ${JSON.stringify(lag, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}`);
}
