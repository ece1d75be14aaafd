/** One error type for HTTP surfaces: status, Iceberg-style exception type, message. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** Writes the Iceberg error body `{"error":{"message","type","code"}}`. */
export function errorResponse(status: number, type: string, message: string, headers?: HeadersInit): Response {
  return Response.json({ error: { message, type, code: status } }, { status, headers });
}
