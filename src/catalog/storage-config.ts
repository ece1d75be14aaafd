/**
 * The object-store settings the catalog vends (in /v1/config and LoadTableResult.config) so an
 * engine can read and write table files by their `s3://` paths: the Worker's own S3-compatible
 * API by default, with the warehouse's own key pair (it reaches only `<warehouse>/`), or
 * S3_ENDPOINT (e.g. R2's own endpoint in production) with the explicit keys when both are set.
 */
import type { Env } from "../env.js";
import { S3CredentialsUnconfigured, adminCredentials, s3Credentials } from "../s3/credentials.js";

/** Environment the storage settings read; S3_ENDPOINT is optional. */
export type StorageEnv = Env & {
  /** Endpoint engines should use for `s3://` paths; defaults to the Worker's own origin. */
  S3_ENDPOINT?: string;
};

/** `s3.*` client properties for one warehouse, as Iceberg's S3FileIO and pyiceberg name them. */
export async function storageConfig(env: StorageEnv, requestUrl: string, warehouse: string): Promise<Record<string, string>> {
  const config: Record<string, string> = {
    "s3.endpoint": env.S3_ENDPOINT || new URL(requestUrl).origin,
    "s3.region": "auto",
    // Iceberg Java's S3FileIO reads its region from client.region (s3.region is pyiceberg's):
    // without it the AWS SDK looks for AWS_REGION and fails.
    "client.region": "auto",
    "s3.path-style-access": "true",
  };
  // Another store (S3_ENDPOINT) knows nothing of DoLake's derived keys: the explicit ones are its keys.
  const external = env.S3_ENDPOINT ? adminCredentials(env) : undefined;
  if (external) {
    config["s3.access-key-id"] = external.accessKeyId;
    config["s3.secret-access-key"] = external.secretAccessKey;
    return config;
  }
  try {
    const keys = await s3Credentials(env, warehouse);
    config["s3.access-key-id"] = keys.accessKeyId;
    config["s3.secret-access-key"] = keys.secretAccessKey;
    // Trino's native S3 only uses vended keys that come with a session token; it binds the pair.
    if (keys.sessionToken) config["s3.session-token"] = keys.sessionToken;
  } catch (e) {
    // Without keys engines can still list and load metadata; file access will be refused.
    if (!(e instanceof S3CredentialsUnconfigured)) throw e;
  }
  return config;
}
