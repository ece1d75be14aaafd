/**
 * The catalog's context: what a Durable Object hands the catalog (CatalogContext), and what the
 * catalog logic runs on, built from it (CatalogDeps: the SQLite store, the R2 bucket, where the
 * warehouse is, and a clock). Tests build either directly. Defined here, below every other
 * catalog module, so that nothing imports the barrel (index.ts) back.
 */
import type { Env } from "../env.js";
import type { Schema } from "../iceberg/metadata/types.js";
import type { CommitGuard } from "./commit-guard.js";
import type { TableIdent, Warehouse } from "./names.js";
import { SqlCatalogStore, type CatalogStore } from "./store.js";

/** What the catalog needs from its Durable Object. */
export interface CatalogContext {
  /** The DO's storage (SQLite via storage.sql, transactions via storage.transactionSync). */
  storage: DurableObjectStorage;
  /** The warehouse bucket. */
  bucket: R2Bucket;
  /** Warehouse name (R2 key prefix). */
  warehouse: string;
  /** The Worker's environment (tokens, S3 settings). */
  env: Env;
  /** Checks REST commits against CDC side state (mirror tables); none in plain catalog use. */
  commitGuard?: CommitGuard;
  /** Called inside the transaction that drops, renames or replaces a table (see CatalogDeps). */
  onTableChange?: TableChangeHook;
  /** Called inside the transaction that stores a REST client's new current schema (see TableSchemaHook). */
  onTableSchema?: TableSchemaHook;
}

/** Default bucket name in `s3://` locations when BUCKET_NAME is not set. */
export const DEFAULT_BUCKET_NAME = "dolake-warehouse";

/**
 * A table identity ends (`to` undefined: dropped, unregistered, or replaced by a register) or
 * moves (`to`: renamed). Runs inside the SQLite transaction of that change, so state kept beside
 * the catalog (the CDC primary-key index and column types) changes with it or not at all.
 */
export type TableChangeHook = (from: TableIdent, to: TableIdent | undefined) => void;

/**
 * A REST client created, registered or committed a table whose current schema is new: runs inside
 * the transaction that stores it, so checks kept beside the catalog (the CDC schema guard's column
 * types) follow other writers' schemas from the moment they exist, not from DoLake's next flush.
 */
export type TableSchemaHook = (ident: TableIdent, schema: Schema) => void;

/** The catalog logic's dependencies. */
export interface CatalogDeps {
  /** See TableChangeHook. */
  onTableChange?: TableChangeHook;
  /** See TableSchemaHook. */
  onTableSchema?: TableSchemaHook;
  store: CatalogStore;
  bucket: R2Bucket;
  warehouse: Warehouse;
  /** Epoch ms. */
  now(): bigint;
  /** Checks REST commits against CDC side state (src/catalog/commit-guard.ts). */
  commitGuard?: CommitGuard;
}

const cache = new WeakMap<DurableObjectStorage, CatalogStore>();

/** The dependencies for a context (the store is made once per storage). */
export function depsOf(ctx: CatalogContext): CatalogDeps {
  let store = cache.get(ctx.storage);
  if (!store) {
    store = new SqlCatalogStore(ctx.storage);
    cache.set(ctx.storage, store);
  }
  return {
    store,
    bucket: ctx.bucket,
    warehouse: { bucketName: ctx.env.BUCKET_NAME || DEFAULT_BUCKET_NAME, warehouse: ctx.warehouse },
    now: () => BigInt(Date.now()),
    commitGuard: ctx.commitGuard,
    onTableChange: ctx.onTableChange,
    onTableSchema: ctx.onTableSchema,
  };
}

/** Either a Durable Object's CatalogContext or ready-made dependencies. */
export type CatalogTarget = CatalogContext | CatalogDeps;

/** Dependencies from either form (so the CDC writer can pass its CatalogContext as is). */
export function asDeps(target: CatalogTarget): CatalogDeps {
  return "store" in target ? target : depsOf(target);
}
