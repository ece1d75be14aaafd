/**
 * Bindings, vars and secrets of the DoLake Worker (wrangler.jsonc) that plain modules read. The
 * DOLAKE namespace is added by WorkerEnv (src/worker.ts), the one module that may name the
 * Durable Object class: this file stays a leaf of the import graph.
 */
export interface Env {
  /** R2 bucket holding the warehouse (Iceberg data and metadata). */
  LAKEHOUSE_BUCKET: R2Bucket;
  /** Bearer token every route but /health requires. A secret; unset means every request is refused. */
  LAKE_TOKEN?: string;
  /** Default warehouse name: R2 key prefix of its tables. */
  WAREHOUSE?: string;
  /** More warehouses, comma-separated: each gets its own DoLake object (scale-out). */
  WAREHOUSES?: string;
  /** Bucket name served by the S3-compatible API. */
  BUCKET_NAME?: string;
  /** Endpoint vended to engines as s3.endpoint (e.g. R2's own S3 endpoint); default: this Worker's origin. */
  S3_ENDPOINT?: string;
  /** Admin S3 access key id (whole bucket; vended only as S3_ENDPOINT's keys); warehouse pairs derive from LAKE_TOKEN. */
  S3_ACCESS_KEY_ID?: string;
  /** Secret of the admin S3 pair (a secret). */
  S3_SECRET_ACCESS_KEY?: string;
  /** Optional JSON overriding DEFAULT_CONFIG. */
  DOLAKE_CONFIG?: string;
}
