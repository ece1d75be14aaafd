/**
 * The catalog's HTTP edge: request bodies through the BigInt-safe codec, responses typed by
 * the generated REST types (widened so 64-bit fields may be bigint), pagination tokens, and the
 * one place errors become `{"error":{message,type,code}}` responses.
 */
import type { components } from "../../gen/iceberg/rest-catalog.js";
import { errorResponse } from "../http/errors.js";
import { tableMetadataToJsonObject } from "../iceberg/metadata/json.js";
import type { TableMetadata } from "../iceberg/metadata/types.js";
import { parseJson, stringifyJson } from "../util/json.js";
import { BadRequestError, CATALOG_ERRORS, CatalogError, catalogErrorOf } from "./errors.js";

/** A generated type with every number widened to number | bigint (int64 fields carry bigint). */
export type Wide<T> = T extends number ? number | bigint : T extends Array<infer U> ? Array<Wide<U>> : T extends object ? { [K in keyof T]: Wide<T[K]> } : T;
/** A REST schema by its name in the official spec, as this server reads and writes it. */
export type Wire<Name extends keyof components["schemas"]> = Wide<components["schemas"][Name]>;

/** Largest request body the catalog reads (metadata of big tables stays well below). */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** The JSON body of a request as an object; 400 when it is missing, too large or not JSON. */
export async function readJsonBody<T>(request: Request): Promise<Partial<T> & Record<string, unknown>> {
  const length = Number(request.headers.get("Content-Length") ?? "0");
  if (length > MAX_BODY_BYTES) throw new CatalogError("body-too-large", `Request body larger than ${MAX_BODY_BYTES} bytes`);
  const text = await request.text();
  if (text.length > MAX_BODY_BYTES) throw new CatalogError("body-too-large", `Request body larger than ${MAX_BODY_BYTES} bytes`);
  if (text.trim() === "") throw new BadRequestError("Missing request body: expected a JSON object");
  let value: unknown;
  try {
    value = parseJson(text);
  } catch (e) {
    throw new BadRequestError(`Malformed JSON body: ${(e as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new BadRequestError("Invalid request body: expected a JSON object");
  return value as Partial<T> & Record<string, unknown>;
}

/** A JSON response of a REST schema (bigint-safe). */
export function jsonResponse<Name extends keyof components["schemas"]>(_schema: Name, body: Wire<Name>, status = 200, headers?: HeadersInit): Response {
  const h = new Headers(headers);
  h.set("Content-Type", "application/json");
  return new Response(stringifyJson(body), { status, headers: h });
}

/** 204 No Content. */
export function noContent(): Response {
  return new Response(null, { status: 204 });
}

/** Table metadata as the REST `TableMetadata` schema. */
export function metadataToWire(metadata: TableMetadata): Wire<"TableMetadata"> {
  return tableMetadataToJsonObject(metadata) as unknown as Wire<"TableMetadata">;
}

/** Largest and default page sizes of the list endpoints. */
export const MAX_PAGE_SIZE = 1000;

/** A page request: how many, after which key; `paged` false when the client asked for everything. */
export interface PageRequest {
  limit: number;
  after: string | undefined;
  paged: boolean;
}

/** Reads pageToken/pageSize (REST spec: pagination starts when either is present). */
export function pageRequest(url: URL): PageRequest {
  const token = url.searchParams.get("pageToken");
  const size = url.searchParams.get("pageSize");
  let limit = MAX_PAGE_SIZE;
  if (size !== null) {
    const n = Number(size);
    if (!Number.isInteger(n) || n < 1) throw new BadRequestError(`Invalid pageSize: ${size} (expected a positive integer)`);
    limit = Math.min(n, MAX_PAGE_SIZE);
  }
  let after: string | undefined;
  if (token !== null && token !== "") {
    try {
      const decoded = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(token.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0))));
      if (typeof decoded?.after !== "string") throw new Error("no key");
      after = decoded.after;
    } catch {
      throw new BadRequestError(`Invalid pageToken: ${token}`);
    }
  }
  return { limit, after, paged: token !== null || size !== null };
}

/** The opaque next-page token after `key`. */
export function pageToken(key: string): string {
  const bytes = new TextEncoder().encode(JSON.stringify({ after: key }));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * Fetches one page through `list(after, limit)` (asking for one extra to know whether more
 * exist) and returns the items with the next-page token, or everything when not paged.
 */
export function paginate<T>(page: PageRequest, list: (after: string | undefined, limit: number) => T[], keyOf: (item: T) => string): { items: T[]; next: string | undefined } {
  if (!page.paged) {
    const items: T[] = [];
    let after: string | undefined;
    for (;;) {
      const chunk = list(after, MAX_PAGE_SIZE);
      items.push(...chunk);
      if (chunk.length < MAX_PAGE_SIZE) return { items, next: undefined };
      after = keyOf(chunk[chunk.length - 1] as T);
    }
  }
  const items = list(page.after, page.limit + 1);
  if (items.length <= page.limit) return { items, next: undefined };
  const kept = items.slice(0, page.limit);
  return { items: kept, next: pageToken(keyOf(kept[kept.length - 1] as T)) };
}

/**
 * The response for a thrown error, through the one table (src/catalog/errors.ts): catalog and
 * domain errors by their code; anything else is a 500 with an error id (logged with its cause,
 * never a stack in the body). `commit` marks requests whose unexpected failures happened before
 * anything was committed: those answer 503, not "unknown".
 */
export function errorToResponse(e: unknown, request: Request, commit = false): Response {
  const known = catalogErrorOf(e);
  if (known) {
    const { status, type } = CATALOG_ERRORS[known.code];
    if (request.method === "HEAD") return new Response(null, { status });
    return errorResponse(status, type, known.message);
  }
  const id = crypto.randomUUID();
  console.error(`catalog error ${id} on ${request.method} ${new URL(request.url).pathname}:`, e);
  const answer = (code: "unavailable" | "internal", message: string) => errorResponse(CATALOG_ERRORS[code].status, CATALOG_ERRORS[code].type, message);
  if (commit) return answer("unavailable", `Commit was not applied (error id ${id}); it is safe to retry`);
  return answer("internal", `Internal error (error id ${id})`);
}
