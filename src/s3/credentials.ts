/**
 * The key pairs the S3-compatible API accepts, and what each may touch.
 *
 * - One pair PER WAREHOUSE, derived from LAKE_TOKEN and the warehouse name with HMAC-SHA256:
 *   access key id `dolake-<warehouse>-<20 hex>`, a 64-hex secret and a 64-hex session token.
 *   Stable across restarts, different per deployment and per warehouse, rotated with the token.
 *   This is the pair the catalog vends; it only reaches keys under `<warehouse>/`.
 * - The explicit S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY, when both are set: a deployment-wide
 *   ADMIN pair that reaches the whole bucket (operators only; never vended by the catalog unless
 *   S3_ENDPOINT points engines at another store, where those are that store's keys).
 * There is no built-in constant pair: without a token or explicit keys every S3 request is refused.
 */
import type { Env } from "../env.js";
import { hmac, toHex } from "./sigv4.js";

/** An access key pair for SigV4. */
export interface S3KeyPair {
  /** Public half, sent in every Credential= scope. */
  accessKeyId: string;
  /** Secret half, never sent. */
  secretAccessKey: string;
  /** Session token (x-amz-security-token) bound to the pair; absent for the admin pair. */
  sessionToken?: string;
}

/** A key pair the S3 API accepted, with the warehouse it is confined to (undefined: the admin pair). */
export interface S3Principal {
  /** The pair itself. */
  keys: S3KeyPair;
  /** Warehouse whose prefix the pair may touch; undefined for the admin pair. */
  warehouse?: string;
}

/** Thrown when the deployment has neither explicit S3 keys nor a LAKE_TOKEN to derive them from. */
export class S3CredentialsUnconfigured extends Error {
  constructor() {
    super("S3 credentials are not configured: set LAKE_TOKEN or S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY");
  }
}

/** The default warehouse name (as the Worker routes it). */
export function defaultWarehouse(env: Env): string {
  return env.WAREHOUSE || "warehouse";
}

/** Every warehouse this deployment serves: WAREHOUSE (or "warehouse") and the WAREHOUSES list. */
export function servedWarehouses(env: Env): Set<string> {
  return new Set([defaultWarehouse(env), ...(env.WAREHOUSES ?? "").split(",").map((w) => w.trim()).filter(Boolean)]);
}

/** The explicit admin pair from S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY, or undefined. */
export function adminCredentials(env: Env): S3KeyPair | undefined {
  if (env.S3_ACCESS_KEY_ID && env.S3_SECRET_ACCESS_KEY) return { accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY };
  return undefined;
}

/** The key pair (and session token) of one warehouse, derived from LAKE_TOKEN; throws when there is no token. */
export async function s3Credentials(env: Env, warehouse = defaultWarehouse(env)): Promise<S3KeyPair> {
  const token = env.LAKE_TOKEN;
  if (!token) throw new S3CredentialsUnconfigured();
  const cacheKey = `${token}\0${warehouse}`;
  let keys = derived.get(cacheKey);
  if (!keys) {
    // Every S3 request needs its pair; an isolate serves one deployment, so the cache stays small.
    if (derived.size > 256) derived.clear();
    keys = deriveKeys(token, warehouse);
    derived.set(cacheKey, keys);
  }
  return keys;
}

const derived = new Map<string, Promise<S3KeyPair>>();

/** Length of the HMAC part of a derived access key id. */
const ID_HEX = 20;

/** The pair of a warehouse (see the module comment); the warehouse name is part of every HMAC input. */
async function deriveKeys(token: string, warehouse: string): Promise<S3KeyPair> {
  const id = toHex(await hmac(token, `s3-access-key-id\0${warehouse}`)).slice(0, ID_HEX);
  const secret = toHex(await hmac(token, `s3-secret-access-key\0${warehouse}`));
  const session = toHex(await hmac(token, `s3-session-token\0${warehouse}`));
  return { accessKeyId: `dolake-${warehouse}-${id}`, secretAccessKey: secret, sessionToken: session };
}

/**
 * The principal an access key id names: the admin pair, or a served warehouse's derived pair
 * (the id is re-derived and compared, so a made-up `dolake-<other>-...` id matches nothing).
 * Undefined when the id is unknown.
 */
export async function principalFor(env: Env, accessKeyId: string): Promise<S3Principal | undefined> {
  const admin = adminCredentials(env);
  if (admin && admin.accessKeyId === accessKeyId) return { keys: admin };
  const m = new RegExp(`^dolake-(.+)-[0-9a-f]{${ID_HEX}}$`).exec(accessKeyId);
  if (!m || !env.LAKE_TOKEN || !servedWarehouses(env).has(m[1]!)) return undefined;
  const keys = await s3Credentials(env, m[1]!);
  return keys.accessKeyId === accessKeyId ? { keys, warehouse: m[1]! } : undefined;
}
