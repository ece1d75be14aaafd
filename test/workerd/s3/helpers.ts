// Shared by the S3 API tests: requests are signed by aws4fetch, a SigV4 signer we did not write,
// with the operator's admin pair (S3_ACCESS_KEY_ID/SECRET: the whole bucket) unless a test names a
// warehouse pair (derived from LAKE_TOKEN, confined to <warehouse>/), and sent to the Worker itself.
import { SELF, env as testEnv } from "cloudflare:test";
import { AwsClient } from "aws4fetch";
import type { Env } from "../../../src/env.js";
import { type S3KeyPair, adminCredentials, s3Credentials } from "../../../src/s3/credentials.js";

/** The Worker's bindings, typed as the Worker sees them. */
export const env = testEnv as unknown as Env;

/** Base URL of the bucket, path-style. */
export const BUCKET_URL = "http://lake.test/dolake-warehouse";

/** The admin pair of the test deployment. */
export function adminKeys(): S3KeyPair {
  return adminCredentials(env)!;
}

/** An aws4fetch client holding the admin pair, or the pair of `warehouse` when given. */
export async function client(warehouse?: string): Promise<AwsClient> {
  const keys = warehouse === undefined ? adminKeys() : await s3Credentials(env, warehouse);
  return new AwsClient({ accessKeyId: keys.accessKeyId, secretAccessKey: keys.secretAccessKey, sessionToken: keys.sessionToken, service: "s3", region: "auto" });
}

/** Signs and sends one request to the Worker. */
export async function s3(path: string, init: RequestInit & { aws?: Record<string, unknown> } = {}): Promise<Response> {
  const signed = await (await client()).sign(`${BUCKET_URL}${path}`, init);
  return SELF.fetch(signed);
}

/** Sends a request already signed (or deliberately not). */
export function send(request: Request): Promise<Response> {
  return SELF.fetch(request);
}

/** Text of one XML element in a response body. */
export function xmlValue(xml: string, tag: string): string | undefined {
  return new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];
}

/** Texts of every occurrence of an XML element. */
export function xmlValues(xml: string, tag: string): string[] {
  return [...xml.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, "g"))].map((m) => m[1]!);
}

/** Bytes 0..n-1 of a repeating pattern, for range checks. */
export function pattern(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => i % 251);
}

/** Hex SHA-256, to compare large bodies without a byte-by-byte diff. */
export async function digest(data: ArrayBuffer | Uint8Array): Promise<string> {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  return Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
}
