/**
 * The object-store settings the catalog vends (in /v1/config and LoadTableResult.config) so an
 * engine can read and write table files by their `s3://` paths: the Worker's own S3-compatible
 * API by default, or S3_ENDPOINT (e.g. R2's own endpoint in production) when set.
 */
import type { Env } from "../env.js";
import { S3CredentialsUnconfigured, s3Credentials } from "../s3/credentials.js";

/** Environment the storage settings read; S3_ENDPOINT is optional. */
export type StorageEnv = Env & {
  /** Endpoint engines should use for `s3://` paths; defaults to the Worker's own origin. */
  S3_ENDPOINT?: string;
};

/** `s3.*` client properties for this deployment, as Iceberg's S3FileIO and pyiceberg name them. */
export async function storageConfig(env: StorageEnv, requestUrl: string): Promise<Record<string, string>> {
  const config: Record<string, string> = {
    "s3.endpoint": env.S3_ENDPOINT || new URL(requestUrl).origin,
    "s3.region": "auto",
    // Iceberg Java's S3FileIO reads its region from client.region (s3.region is pyiceberg's):
    // without it the AWS SDK looks for AWS_REGION and fails.
    "client.region": "auto",
    "s3.path-style-access": "true",
  };
  try {
    const keys = await s3Credentials(env);
    config["s3.access-key-id"] = keys.accessKeyId;
    config["s3.secret-access-key"] = keys.secretAccessKey;
  } catch (e) {
    // Without keys engines can still list and load metadata; file access will be refused.
    if (!(e instanceof S3CredentialsUnconfigured)) throw e;
  }
  return config;
}
