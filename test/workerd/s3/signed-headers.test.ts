// Issue 13 item 1: every x-amz-* header that changes what a request does must be signed, for
// presigned URLs as much as for header-signed requests. Before the fix a presigned PUT for one
// key, sent with an unsigned x-amz-copy-source, copied any object of the bucket into that key.
import { SELF } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { s3Credentials } from "../../../src/s3/credentials.js";
import { BUCKET_URL, client, env, s3, xmlValue } from "./helpers.js";

const SECRET = "warehouse/signed/secret.txt";
const TARGET = "warehouse/signed/target";

/** A presigned URL of the default warehouse's pair, for `method` on `path` (query included). */
async function presign(method: string, path: string, headers: Record<string, string> = {}): Promise<string> {
  const c = await client("warehouse");
  const sep = path.includes("?") ? "&" : "?";
  return (await c.sign(`${BUCKET_URL}/${path}${sep}X-Amz-Expires=300`, { method, headers, aws: { signQuery: true } })).url;
}

/** Status and S3 error code of a response. */
async function outcome(res: Response): Promise<[number, string | undefined]> {
  return [res.status, xmlValue(await res.text(), "Code")];
}

describe("presigned URLs and unsigned x-amz-* headers", () => {
  beforeEach(async () => {
    await env.LAKEHOUSE_BUCKET.put(SECRET, "the secret");
    await env.LAKEHOUSE_BUCKET.delete(TARGET);
  });

  it("refuses a presigned PUT replayed as a copy with an unsigned x-amz-copy-source", async () => {
    const url = await presign("PUT", TARGET);
    const res = await SELF.fetch(url, { method: "PUT", headers: { "x-amz-copy-source": `/dolake-warehouse/${SECRET}` } });
    expect(await outcome(res)).toEqual([403, "AccessDenied"]);
    expect(await env.LAKEHOUSE_BUCKET.head(TARGET)).toBeNull();
  });

  it("refuses unsigned metadata, checksum, directive, tagging, storage-class and encryption headers on a presigned PUT", async () => {
    const url = await presign("PUT", TARGET);
    for (const [name, value] of [
      ["x-amz-meta-owner", "mallory"],
      ["x-amz-checksum-crc32", "AAAAAA=="],
      ["x-amz-sdk-checksum-algorithm", "CRC32"],
      ["x-amz-metadata-directive", "REPLACE"],
      ["x-amz-tagging", "a=b"],
      ["x-amz-storage-class", "STANDARD"],
      ["x-amz-server-side-encryption", "AES256"],
      ["x-amz-acl", "public-read"],
      ["x-amz-copy-source-if-match", "\"x\""],
    ]) {
      const res = await SELF.fetch(url, { method: "PUT", headers: { [name!]: value! }, body: "body" });
      expect(await outcome(res), name).toEqual([403, "AccessDenied"]);
    }
    expect(await env.LAKEHOUSE_BUCKET.head(TARGET)).toBeNull();
  });

  it("refuses UploadPartCopy and CreateMultipartUpload metadata through a presigned URL", async () => {
    const created = await s3(`/${TARGET}?uploads`, { method: "POST" });
    const uploadId = xmlValue(await created.text(), "UploadId")!;
    const partCopy = await presign("PUT", `${TARGET}?partNumber=1&uploadId=${encodeURIComponent(uploadId)}`);
    const res = await SELF.fetch(partCopy, { method: "PUT", headers: { "x-amz-copy-source": `/dolake-warehouse/${SECRET}` } });
    expect(await outcome(res)).toEqual([403, "AccessDenied"]);

    const create = await presign("POST", `${TARGET}?uploads`);
    const res2 = await SELF.fetch(create, { method: "POST", headers: { "x-amz-meta-owner": "mallory" } });
    expect(await outcome(res2)).toEqual([403, "AccessDenied"]);
    await s3(`/${TARGET}?uploadId=${encodeURIComponent(uploadId)}`, { method: "DELETE" });
  });

  it("accepts the same headers when the URL signs them, and the SigV4 headers unsigned", async () => {
    const copy = await presign("PUT", TARGET, { "x-amz-copy-source": `/dolake-warehouse/${SECRET}` });
    const res = await SELF.fetch(copy, { method: "PUT", headers: { "x-amz-copy-source": `/dolake-warehouse/${SECRET}` } });
    expect(res.status).toBe(200);
    expect(await (await env.LAKEHOUSE_BUCKET.get(TARGET))!.text()).toBe("the secret");

    const put = await presign("PUT", TARGET);
    const res2 = await SELF.fetch(put, { method: "PUT", headers: { "x-amz-content-sha256": "UNSIGNED-PAYLOAD" }, body: "plain" });
    expect(res2.status).toBe(200);
    expect(await (await env.LAKEHOUSE_BUCKET.get(TARGET))!.text()).toBe("plain");
  });

  it("refuses an unsigned x-amz-copy-source added to a header-signed PUT", async () => {
    const signed = await (await client("warehouse")).sign(`${BUCKET_URL}/${TARGET}`, { method: "PUT", body: "" });
    const forged = new Request(signed, { headers: new Headers(signed.headers) });
    forged.headers.set("x-amz-copy-source", `/dolake-warehouse/${SECRET}`);
    expect(await outcome(await SELF.fetch(forged))).toEqual([403, "AccessDenied"]);
    expect(await env.LAKEHOUSE_BUCKET.head(TARGET)).toBeNull();
  });
});

describe("session tokens", () => {
  it("accepts the warehouse's own token, and refuses another warehouse's or a made-up one", async () => {
    await env.LAKEHOUSE_BUCKET.put(SECRET, "the secret");
    expect((await s3(`/${SECRET}`)).status).toBe(200);
    const own = await s3Credentials(env, "warehouse");
    const east = await s3Credentials(env, "east");
    const { AwsClient } = await import("aws4fetch");
    for (const [token, status] of [[own.sessionToken, 200], [east.sessionToken, 403], ["0".repeat(64), 403]] as const) {
      const c = new AwsClient({ accessKeyId: own.accessKeyId, secretAccessKey: own.secretAccessKey, sessionToken: token, service: "s3", region: "auto" });
      const res = await SELF.fetch(await c.sign(`${BUCKET_URL}/${SECRET}`));
      expect(res.status, token).toBe(status);
      if (status === 403) expect(xmlValue(await res.text(), "Code")).toBe("InvalidToken");
    }
    const pre = await (await client("warehouse")).sign(`${BUCKET_URL}/${SECRET}?X-Amz-Expires=300`, { aws: { signQuery: true } });
    expect(new URL(pre.url).searchParams.get("X-Amz-Security-Token")).toBe(own.sessionToken);
    expect((await SELF.fetch(pre.url)).status).toBe(200);
  });
});
