import { errorResponse } from "./errors.js";

/** Compares two strings in time independent of where they differ. */
export function timingSafeEqual(a: string, b: string): boolean {
  const enc = new TextEncoder();
  const x = enc.encode(a);
  const y = enc.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i % (x.length || 1)] ?? 0) ^ (y[i % (y.length || 1)] ?? 0);
  return diff === 0;
}

/** The bearer token of a request: `Authorization: Bearer <t>`, else `?token=<t>` (browsers' WebSockets). */
export function requestToken(request: Request): string | undefined {
  const header = request.headers.get("Authorization");
  if (header) {
    const m = /^Bearer\s+(.+)$/i.exec(header.trim());
    return m?.[1];
  }
  return new URL(request.url).searchParams.get("token") ?? undefined;
}

/** Returns a 401 response unless the request carries the configured token. */
export function checkBearer(request: Request, expected: string | undefined): Response | undefined {
  if (!expected) {
    return errorResponse(401, "NotAuthorizedException", "LAKE_TOKEN is not configured on this deployment: every request is refused");
  }
  const token = requestToken(request);
  if (token === undefined || !timingSafeEqual(token, expected)) {
    return errorResponse(401, "NotAuthorizedException", "Missing or invalid bearer token", { "WWW-Authenticate": "Bearer" });
  }
  return undefined;
}
