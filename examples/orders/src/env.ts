import type { WorkerEnv } from "../../../src/worker.js";
import type { Orders } from "./orders.js";

/** Bindings of the orders example: DoLake's, plus the application object. */
export interface ExampleEnv extends WorkerEnv {
  /** The application's Durable Object namespace. */
  ORDERS: DurableObjectNamespace<Orders>;
  /** Bound of the orders object's CDC outbox (default 100000). */
  ORDERS_MAX_OUTBOX?: string;
}
