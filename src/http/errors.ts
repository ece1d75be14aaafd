/**
 * One error type for the HTTP surfaces outside the catalog (the query API): status, Iceberg-style
 * exception type, message. The catalog has its own closed table (src/catalog/errors.ts).
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Writes the Iceberg error body `{"error":{"message","type","code"}}`: the one writer for the
 * Worker, the DoLake object's own routes and the catalog (whose codes come from src/catalog/errors.ts).
 */
export function errorResponse(status: number, type: string, message: string, headers?: HeadersInit): Response {
  return Response.json({ error: { message, type, code: status } }, { status, headers });
}
