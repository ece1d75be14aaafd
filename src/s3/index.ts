/**
 * S3-compatible object access over the R2 binding, for engines that read tables by path.
 * Placeholder until it lands: no request is treated as S3.
 */
import type { Env } from "../env.js";

/** True when this request is addressed to the S3 API (path-style: /<bucket>/<key>). */
export function isS3Request(_request: Request, _env: Env): boolean {
  return false;
}

/** Serves one S3 API request. */
export async function handleS3Request(_request: Request, _env: Env): Promise<Response> {
  return new Response("not implemented", { status: 501 });
}
