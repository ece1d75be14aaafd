/**
 * POST /v1/query and POST /v1/query/plan, answered in the Worker: the object only hands over its
 * consistent read state (DoLake.queryState, read in short steps, then the buffered batches in
 * pages: src/query/buffered-state.ts), so a heavy query never stalls acks. Answers are BigInt-safe JSON: 64-bit integers are exact JSON numbers (parse them with
 * a BigInt-aware parser such as the lake client's). Errors use the Iceberg error body.
 */
import type { Env } from "../env.js";
import { errorResponse, HttpError } from "../http/errors.js";
import { DEFAULT_BUCKET_NAME } from "../catalog/deps.js";
import { parseJson, stringifyJson } from "../util/json.js";
import { type QueryRequest, runQuery } from "./engine.js";
import { fetchTableStates, type QueryStateSource } from "./buffered-state.js";

export type { QueryStateSource } from "./buffered-state.js";

/** True for the query routes (with or without a warehouse prefix). */
export function queryRoute(pathname: string): "query" | "plan" | undefined {
  const m = /^\/v1\/(?:[^/]+\/)?query(\/plan)?$/.exec(pathname);
  if (!m) return undefined;
  return m[1] ? "plan" : "query";
}

/** Answers a query route for `warehouse`. */
export async function handleQuery(request: Request, env: Env, lake: QueryStateSource, warehouse: string, kind: "query" | "plan"): Promise<Response> {
  if (request.method !== "POST") return errorResponse(405, "MethodNotAllowedException", `${request.method} is not supported on /v1/query; use POST`);
  try {
    let body: QueryRequest;
    try {
      body = parseJson(await request.text()) as unknown as QueryRequest;
    } catch (e) {
      throw new HttpError(400, "BadRequestException", `body is not JSON: ${(e as Error).message}`);
    }
    const result = await runQuery(
      body,
      {
        state: (tables) => fetchTableStates(lake, tables),
        bucket: env.LAKEHOUSE_BUCKET,
        warehouse: { bucketName: env.BUCKET_NAME || DEFAULT_BUCKET_NAME, warehouse },
      },
      kind === "plan",
    );
    const out = kind === "plan" ? { columns: result.columns, files: result.plan, stats: result.stats, snapshots: result.snapshots } : result;
    return new Response(stringifyJson(out), { headers: { "Content-Type": "application/json" } });
  } catch (e) {
    if (e instanceof HttpError) return errorResponse(e.status, e.type, e.message);
    const id = crypto.randomUUID();
    console.error(`query failed (${id})`, e);
    return errorResponse(500, "InternalServerError", `query failed; error id ${id}`);
  }
}
