/**
 * The one key pair the S3-compatible API accepts. Explicit keys win; otherwise both halves are
 * derived from LAKE_TOKEN with HMAC-SHA256, so they are stable across restarts, differ per
 * deployment, and rotate with the token. There is no built-in constant pair: without a token
 * or explicit keys every S3 request is refused.
 */
import type { Env } from "../env.js";
import { hmac, toHex } from "./sigv4.js";

/**
 * Optional S3 settings read from the Worker environment (secrets). To be declared in Env:
 *   S3_ACCESS_KEY_ID?: string;      // access key id the S3 API accepts (else derived from LAKE_TOKEN)
 *   S3_SECRET_ACCESS_KEY?: string;  // its secret (a secret: `wrangler secret put`)
 */
export interface S3CredentialEnv {
  /** Access key id the S3 API accepts; overrides the derived one. */
  S3_ACCESS_KEY_ID?: string;
  /** Secret access key paired with S3_ACCESS_KEY_ID. */
  S3_SECRET_ACCESS_KEY?: string;
}

/** An access key pair for SigV4. */
export interface S3KeyPair {
  /** Public half, sent in every Credential= scope. */
  accessKeyId: string;
  /** Secret half, never sent. */
  secretAccessKey: string;
}

/** Thrown when the deployment has neither explicit S3 keys nor a LAKE_TOKEN to derive them from. */
export class S3CredentialsUnconfigured extends Error {
  constructor() {
    super("S3 credentials are not configured: set LAKE_TOKEN or S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY");
  }
}

/** The S3 key pair of this deployment: explicit env keys if set, else derived from LAKE_TOKEN. */
export async function s3Credentials(env: Env): Promise<S3KeyPair> {
  const extra = env as Env & S3CredentialEnv;
  if (extra.S3_ACCESS_KEY_ID && extra.S3_SECRET_ACCESS_KEY) {
    return { accessKeyId: extra.S3_ACCESS_KEY_ID, secretAccessKey: extra.S3_SECRET_ACCESS_KEY };
  }
  const token = env.LAKE_TOKEN;
  if (!token) throw new S3CredentialsUnconfigured();
  // Every S3 request needs the pair; an isolate serves one deployment, so one cached entry is enough.
  if (derived?.token !== token) derived = { token, keys: deriveKeys(token) };
  return derived.keys;
}

let derived: { token: string; keys: Promise<S3KeyPair> } | undefined;

/** The key pair derived from a token (see the module comment). */
async function deriveKeys(token: string): Promise<S3KeyPair> {
  const id = toHex(await hmac(token, "s3-access-key-id")).slice(0, 20);
  const secret = toHex(await hmac(token, "s3-secret-access-key"));
  return { accessKeyId: `dolake-${id}`, secretAccessKey: secret };
}
