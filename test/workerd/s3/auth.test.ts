import { SELF } from "cloudflare:test";
import { AwsClient } from "aws4fetch";
import { beforeAll, describe, expect, it } from "vitest";
import type { Env } from "../../../src/env.js";
import { principalFor, s3Credentials } from "../../../src/s3/credentials.js";
import { BUCKET_URL, adminKeys, client, env, s3, xmlValue } from "./helpers.js";

/** An ISO 8601 basic timestamp `minutes` from now. */
function amzDate(minutes: number): string {
  return new Date(Date.now() + minutes * 60_000).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/** The S3 error code of a response. */
async function code(res: Response): Promise<string | undefined> {
  return xmlValue(await res.text(), "Code");
}

describe("S3 authentication", () => {
  beforeAll(async () => {
    await env.LAKEHOUSE_BUCKET.put("auth/secret.txt", "table data");
  });

  it("refuses unsigned requests of every kind", async () => {
    for (const [method, path] of [["GET", "/auth/secret.txt"], ["HEAD", "/auth/secret.txt"], ["PUT", "/auth/x"], ["DELETE", "/auth/secret.txt"], ["GET", "?list-type=2"]]) {
      const res = await SELF.fetch(`${BUCKET_URL}${path}`, { method, body: method === "PUT" ? "x" : undefined });
      expect(res.status, `${method} ${path}`).toBe(403);
      if (method !== "HEAD") expect(await code(res)).toBe("AccessDenied");
    }
    expect(await env.LAKEHOUSE_BUCKET.head("auth/x")).toBeNull();
    expect(await env.LAKEHOUSE_BUCKET.head("auth/secret.txt")).not.toBeNull();
  });

  it("does not accept the bearer token in place of a signature", async () => {
    const res = await SELF.fetch(`${BUCKET_URL}/auth/secret.txt`, { headers: { Authorization: "Bearer test-token" } });
    expect(res.status).toBe(400);
    expect(await code(res)).toBe("InvalidArgument");
  });

  it("refuses a wrong secret, an unknown key id and a request changed after signing", async () => {
    const keys = adminKeys();
    const wrongSecret = new AwsClient({ ...keys, secretAccessKey: "not-the-secret", service: "s3", region: "auto" });
    const res1 = await SELF.fetch(await wrongSecret.sign(`${BUCKET_URL}/auth/secret.txt`));
    expect(res1.status).toBe(403);
    const xml = await res1.text();
    expect(xmlValue(xml, "Code")).toBe("SignatureDoesNotMatch");
    expect(xml).toContain("<CanonicalRequest>GET\n/dolake-warehouse/auth/secret.txt\n");

    const wrongId = new AwsClient({ ...keys, accessKeyId: "AKIAIOSFODNN7EXAMPLE", service: "s3", region: "auto" });
    const res2 = await SELF.fetch(await wrongId.sign(`${BUCKET_URL}/auth/secret.txt`));
    expect(res2.status).toBe(403);
    expect(await code(res2)).toBe("InvalidAccessKeyId");

    const signed = await (await client()).sign(`${BUCKET_URL}/auth/secret.txt`);
    const moved = new Request(signed.url.replace("secret.txt", "other.txt"), { headers: signed.headers });
    const res3 = await SELF.fetch(moved);
    expect(res3.status).toBe(403);
    expect(await code(res3)).toBe("SignatureDoesNotMatch");

    const added = new Request(signed.url, { headers: signed.headers });
    added.headers.set("x-amz-meta-sneaky", "1");
    const res4 = await SELF.fetch(added);
    expect(res4.status).toBe(403);
    expect(await code(res4)).toBe("AccessDenied");
  });

  it("refuses requests signed more than 15 minutes from now", async () => {
    const stale = await s3("/auth/secret.txt", { aws: { datetime: amzDate(-16) } });
    expect(stale.status).toBe(403);
    expect(await code(stale)).toBe("RequestTimeTooSkewed");
    expect((await s3("/auth/secret.txt", { aws: { datetime: amzDate(-14) } })).status).toBe(200);
    expect((await s3("/auth/secret.txt", { aws: { datetime: amzDate(16) } })).status).toBe(403);
  });

  it("accepts presigned GET and PUT URLs, and refuses expired or altered ones", async () => {
    const c = await client();
    const get = await c.sign(`${BUCKET_URL}/auth/secret.txt?X-Amz-Expires=300`, { aws: { signQuery: true } });
    expect(new URL(get.url).searchParams.get("X-Amz-Signature")).toBeTruthy();
    const ok = await SELF.fetch(get.url);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe("table data");

    const put = await c.sign(`${BUCKET_URL}/auth/presigned-put?X-Amz-Expires=300`, { method: "PUT", aws: { signQuery: true } });
    const putRes = await SELF.fetch(put.url, { method: "PUT", body: "via presigned url" });
    expect(putRes.status).toBe(200);
    expect(await (await env.LAKEHOUSE_BUCKET.get("auth/presigned-put"))!.text()).toBe("via presigned url");

    const old = await c.sign(`${BUCKET_URL}/auth/secret.txt?X-Amz-Expires=60`, { aws: { signQuery: true, datetime: amzDate(-10) } });
    const expired = await SELF.fetch(old.url);
    expect(expired.status).toBe(403);
    const xml = await expired.text();
    expect(xmlValue(xml, "Code")).toBe("AccessDenied");
    expect(xmlValue(xml, "Message")).toBe("Request has expired");

    const altered = await SELF.fetch(get.url.replace("X-Amz-Expires=300", "X-Amz-Expires=600"));
    expect(altered.status).toBe(403);
    expect(await code(altered)).toBe("SignatureDoesNotMatch");

    const otherKey = await SELF.fetch(get.url.replace("secret.txt", "presigned-put"));
    expect(otherKey.status).toBe(403);
  });

  it("accepts region us-east-1 as well as auto", async () => {
    const keys = adminKeys();
    const east = new AwsClient({ ...keys, service: "s3", region: "us-east-1" });
    expect((await SELF.fetch(await east.sign(`${BUCKET_URL}/auth/secret.txt`))).status).toBe(200);
  });

  it("leaves DoLake's own routes and other paths to the bearer token", async () => {
    expect((await SELF.fetch("http://lake.test/v1/config")).status).toBe(401);
    const signed = await (await client()).sign("http://lake.test/dolake-warehouse-2/x");
    expect((await SELF.fetch(signed)).status).toBe(401);
  });
});

describe("S3 credentials", () => {
  it("derives one key pair per warehouse from LAKE_TOKEN: stable, token- and warehouse-specific, never a constant", async () => {
    const base = { ...env } as Env;
    const a = await s3Credentials({ ...base, LAKE_TOKEN: "token-a" }, "east");
    const a2 = await s3Credentials({ ...base, LAKE_TOKEN: "token-a" }, "east");
    const aWest = await s3Credentials({ ...base, LAKE_TOKEN: "token-a" }, "west");
    const b = await s3Credentials({ ...base, LAKE_TOKEN: "token-b" }, "east");
    expect(a).toEqual(a2);
    expect(a.accessKeyId).toMatch(/^dolake-east-[0-9a-f]{20}$/);
    expect(a.secretAccessKey).toMatch(/^[0-9a-f]{64}$/);
    expect(a.sessionToken).toMatch(/^[0-9a-f]{64}$/);
    for (const other of [aWest, b]) {
      expect(other.accessKeyId).not.toBe(a.accessKeyId);
      expect(other.secretAccessKey).not.toBe(a.secretAccessKey);
      expect(other.sessionToken).not.toBe(a.sessionToken);
    }
    expect(a.secretAccessKey).not.toContain("token-a");
  });

  it("knows the admin pair and the pairs of served warehouses only, and refuses with no token", async () => {
    const base = { ...env } as Env;
    expect(await principalFor(base, "test-admin-key")).toEqual({ keys: adminKeys() });
    const east = await s3Credentials(base, "east");
    expect((await principalFor(base, east.accessKeyId))?.warehouse).toBe("east");
    // A pair derived for a warehouse the deployment does not serve is not accepted.
    const north = await s3Credentials(base, "north");
    expect(await principalFor(base, north.accessKeyId)).toBeUndefined();
    expect(await principalFor(base, east.accessKeyId.replace(/.$/, (c) => (c === "0" ? "1" : "0")))).toBeUndefined();
    await expect(s3Credentials({ ...base, LAKE_TOKEN: undefined })).rejects.toThrow(/not configured/);
  });
});
