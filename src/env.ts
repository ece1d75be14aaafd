import type { DoLake } from "./do/dolake.js";

/** Bindings and vars of the DoLake Worker (wrangler.jsonc). */
export interface Env {
  /** The DoLake Durable Object namespace (SQLite-backed). */
  DOLAKE: DurableObjectNamespace<DoLake>;
  /** R2 bucket holding the warehouse (Iceberg data and metadata). */
  LAKEHOUSE_BUCKET: R2Bucket;
  /** Bearer token every route but /health requires. A secret; unset means every request is refused. */
  LAKE_TOKEN?: string;
  /** Warehouse name: R2 key prefix of all tables. */
  WAREHOUSE?: string;
  /** Bucket name served by the S3-compatible API. */
  BUCKET_NAME?: string;
  /** Optional JSON overriding DEFAULT_CONFIG. */
  DOLAKE_CONFIG?: string;
}
