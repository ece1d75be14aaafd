/**
 * The compaction API (openapi/dolake.yaml, tag compaction): /v1/compaction/{candidates,run,metrics,auto}.
 * Every answer `satisfies` its generated schema type, so the handlers and the contract cannot drift.
 */
import type { components } from "../../gen/openapi/dolake.js";
import { depsOf } from "../catalog/deps.js";
import { tableCandidates, cdcTables } from "../flush/compactor.js";
import { errorResponse } from "../http/errors.js";
import type { MaintenanceHost, MaintenanceScheduler } from "./maintenance.js";

type Schemas = components["schemas"];

/** What the compaction routes need from their Durable Object. */
export interface CompactionRoutesHost extends MaintenanceHost {
  readonly maintenance: MaintenanceScheduler;
}

/** Serves a /v1/compaction route, or undefined when the path is not one. */
export async function routeCompaction(lake: CompactionRoutesHost, request: Request, url: URL): Promise<Response | undefined> {
  switch (`${request.method} ${url.pathname}`) {
    case "GET /v1/compaction/candidates": {
      const tables = [];
      for (const ident of cdcTables(lake)) {
        const t = await tableCandidates(lake, ident);
        if (t) tables.push(t);
      }
      return Response.json({ config: lake.config.compaction, tables } satisfies Schemas["CompactionCandidates"]);
    }
    case "POST /v1/compaction/run": {
      let body: { namespace?: unknown; table?: unknown };
      try {
        body = (await request.json()) as typeof body;
      } catch {
        return errorResponse(400, "BadRequestException", 'body must be JSON: {"namespace": "default", "table": "orders"}');
      }
      const namespace = body?.namespace ?? lake.config.namespace;
      if (typeof namespace !== "string" || typeof body?.table !== "string" || body.table === "") {
        return errorResponse(400, "BadRequestException", 'body must name a table: {"namespace": "default", "table": "orders"}');
      }
      const ident = { namespace: namespace.split("."), name: body.table };
      if (!depsOf(lake.catalogContext()).store.getTable(ident)) return errorResponse(404, "NoSuchTableException", `Table does not exist: ${namespace}.${body.table}`);
      try {
        const r = await lake.maintenance.runTable(ident);
        const remaining = (await tableCandidates(lake, ident))?.partitions ?? [];
        return Response.json({ table: `${namespace}.${body.table}`, steps: r.steps, snapshotsExpired: r.snapshotsExpired, remaining } satisfies Schemas["CompactionRunResult"]);
      } catch (e) {
        return errorResponse(503, "ServiceUnavailableException", `compaction failed (nothing half-applied; retried by the next run): ${(e as Error).message}`);
      }
    }
    case "GET /v1/compaction/metrics": {
      const m = lake.maintenance.metrics;
      const next = lake.maintenance.nextRunAt();
      return Response.json({
        runs: m.runs, steps: m.steps, filesRewritten: m.filesRewritten, bytesRewritten: m.bytesRewritten, filesAdded: m.filesAdded, bytesAdded: m.bytesAdded,
        deleteFilesRetired: m.deleteFilesRetired, rowsDropped: m.rowsDropped, snapshotsExpired: m.snapshotsExpired, conflicts: m.conflicts, failures: m.failures, rests: m.rests, restedMs: m.restedMs,
        running: lake.maintenance.running, autoCompact: lake.config.compaction.autoCompact,
        ...(m.lastRunAt ? { lastRunAt: m.lastRunAt } : {}), ...(next !== undefined ? { nextRunAt: next } : {}), ...(m.lastError ? { lastError: m.lastError } : {}),
      } satisfies Schemas["CompactionMetrics"]);
    }
    case "POST /v1/compaction/auto": {
      const r = await lake.maintenance.runPass();
      return Response.json({ steps: r.steps, snapshotsExpired: r.snapshotsExpired, tablesLeft: r.tablesLeft } satisfies Schemas["CompactionAutoResult"]);
    }
  }
  return undefined;
}
