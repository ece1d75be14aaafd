/**
 * The Iceberg sink of a flush: for each source table, the CDC writer (src/iceberg/cdc-writer.ts)
 * writes data, delete and manifest files to R2 and returns metadata updates for the mirror table
 * and its `<table>__changelog`; the catalog (src/catalog) prepares both commits (new metadata.json
 * on R2). `commit()` then swaps every pointer and applies the primary-key index changes inside the
 * flush's one SQLite transaction. The catalog is the commit point shared with REST writers: a
 * concurrent pyiceberg/Spark commit makes our prepare or swap fail with a CommitFailedError, and
 * the flush (src/flush/flusher.ts) writes again from the new state.
 */
import { abandonPreparedCommit, applyPreparedCommit, deleteDroppedMetadata, freshTableLocation, loadTable, prepareCommit, type PreparedCommit } from "../catalog/commit.js";
import { depsOf, type CatalogContext } from "../catalog/deps.js";
import { keyOf } from "../catalog/metadata-files.js";
import { ensureNamespace } from "../catalog/namespaces.js";
import type { TableIdent } from "../catalog/names.js";
import type { DoLakeConfig } from "../config.js";
import { type RowLocation, writeCdcFlush } from "../iceberg/cdc-writer.js";
import type { NestedField } from "../iceberg/metadata/types.js";
import { CHANGELOG_SUFFIX } from "../iceberg/changelog.js";
import type { BufferedChange, FlushSink, PreparedFlush } from "./flusher.js";
import { SqlPrimaryKeyIndex } from "./pk-index.js";
import { R2ObjectStore } from "./r2-store.js";
import type { Pacer } from "../util/pace.js";


/** A positive 63-bit snapshot id (usually above 2^53: bigint end to end). */
export function newSnapshotId(): bigint {
  const b = new BigUint64Array(1);
  crypto.getRandomValues(b);
  return (b[0]! & 0x7fff_ffff_ffff_ffffn) || 1n;
}

/** What a flush sink needs from its Durable Object (the DoLake object is one). */
export interface FlushSinkHost {
  /** The settings in force (read at each flush: PATCH /config may change them). */
  readonly config: DoLakeConfig;
  /** The object's storage: the primary-key index lives in its SQLite. */
  readonly storage: DurableObjectStorage;
  /** Learns each committed mirror schema, so ingest refuses what the next flush could not write. */
  readonly schemaGuard: { recordSchema(table: string, fields: NestedField[]): void };
  /** What the catalog runs on in this object. */
  catalogContext(): CatalogContext;
}

/** The flush sink for a DoLake object. */
export function createFlushSink(lake: FlushSinkHost): FlushSink {
  return {
    async prepare(changesByTable: Map<string, BufferedChange[]>, pace?: Pacer): Promise<PreparedFlush> {
      const ctx = lake.catalogContext();
      const deps = depsOf(ctx);
      const config = lake.config;
      const namespace = [config.namespace];
      ensureNamespace(deps, namespace);
      const store = new R2ObjectStore(ctx.bucket);
      const prepared: PreparedCommit[] = [];
      const schemas: Array<{ table: string; fields: NestedField[] }> = [];
      const indexWork: Array<{ index: SqlPrimaryKeyIndex; upserts: Map<string, RowLocation>; deletes: string[] }> = [];
      const tables: string[] = [];
      const unreachable: string[] = []; // locations to delete once the commit landed
      let persistedPath = "";
      try {
        for (const [table, changes] of changesByTable) {
          const ident: TableIdent = { namespace, name: table };
          const changelogIdent: TableIdent = { namespace, name: `${table}${CHANGELOG_SUFFIX}` };
          const mirror = await loadTable(deps, ident);
          const changelog = await loadTable(deps, changelogIdent);
          const tableKey = `${namespace.join(".")}.${table}`;
          const index = new SqlPrimaryKeyIndex(lake.storage.sql, tableKey);
          const result = await writeCdcFlush({
            mirror: mirror?.metadata,
            changelog: changelog?.metadata,
            changes: changes.map((c) => c.change),
            store,
            index,
            options: {
              location: mirror?.metadata.location ?? freshTableLocation(deps, ident),
              changelogLocation: changelog?.metadata.location ?? freshTableLocation(deps, changelogIdent),
              compression: config.parquetCompression,
              targetFileSizeBytes: config.targetFileSizeBytes,
              rowGroupRows: config.parquetRowGroupSize,
              partitionBy: config.partitionBy[table],
              detectTimestamps: config.detectTimestamps,
              keyFor: (location) => keyOf(deps, location),
            },
            clock: () => BigInt(Date.now()),
            newSnapshotId,
            pace,
          });
          if (result.mirror) {
            const p = await prepareCommit(deps, ident, result.mirror.requirements, result.mirror.updates);
            unreachable.push(...result.mirror.expiredFiles);
            prepared.push(p);
            persistedPath = p.metadataLocation;
            const schema = p.metadata.schemas.find((x) => x["schema-id"] === p.metadata["current-schema-id"]);
            if (schema) schemas.push({ table, fields: schema.fields });
            tables.push(tableKey);
          }
          if (result.changelog) {
            const p = await prepareCommit(deps, changelogIdent, result.changelog.requirements, result.changelog.updates);
            prepared.push(p);
            unreachable.push(...result.changelog.expiredFiles);
            tables.push(`${tableKey}${CHANGELOG_SUFFIX}`);
          }
          indexWork.push({ index, upserts: result.index.upserts, deletes: result.index.deletes });
        }
      } catch (e) {
        await Promise.all(prepared.map((p) => abandonPreparedCommit(deps, p).catch(() => undefined)));
        await store.deleteWritten();
        throw e;
      }
      return {
        tables,
        persistedPath,
        commit() {
          for (const p of prepared) applyPreparedCommit(deps, p);
          for (const w of indexWork) w.index.apply(w.upserts, w.deletes);
          for (const s of schemas) lake.schemaGuard.recordSchema(s.table, s.fields);
        },
        async afterCommit() {
          for (const p of prepared) await deleteDroppedMetadata(deps, p);
          const keys = unreachable.map((l) => keyOf(deps, l));
          for (let i = 0; i < keys.length; i += 1000) await ctx.bucket.delete(keys.slice(i, i + 1000));
        },
        async abort() {
          await Promise.all(prepared.map((p) => abandonPreparedCommit(deps, p).catch(() => undefined)));
          await store.deleteWritten();
        },
      };
    },
  };
}
