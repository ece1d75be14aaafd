/**
 * What the catalog logic runs on, built from the Durable Object's CatalogContext: the SQLite
 * store, the R2 bucket, where the warehouse is, and a clock. Tests build one directly.
 */
import type { CommitGuard } from "./commit-guard.js";
import type { CatalogContext } from "./index.js";
import type { TableIdent, Warehouse } from "./names.js";
import { SqlCatalogStore, type CatalogStore } from "./store.js";

/** Default bucket name in `s3://` locations when BUCKET_NAME is not set. */
export const DEFAULT_BUCKET_NAME = "dolake-warehouse";

/**
 * A table identity ends (`to` undefined: dropped, unregistered, or replaced by a register) or
 * moves (`to`: renamed). Runs inside the SQLite transaction of that change, so state kept beside
 * the catalog (the CDC primary-key index and column types) changes with it or not at all.
 */
export type TableChangeHook = (from: TableIdent, to: TableIdent | undefined) => void;

/** The catalog logic's dependencies. */
export interface CatalogDeps {
  /** See TableChangeHook. */
  onTableChange?: TableChangeHook;
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
  };
}

/** Either a Durable Object's CatalogContext or ready-made dependencies. */
export type CatalogTarget = CatalogContext | CatalogDeps;

/** Dependencies from either form (so the CDC writer can pass its CatalogContext as is). */
export function asDeps(target: CatalogTarget): CatalogDeps {
  return "store" in target ? target : depsOf(target);
}
