import { describe, expect, it } from "vitest";
import { digest, env, pattern, s3, xmlValue } from "./helpers.js";

describe("S3 objects", () => {
  it("PutObject, GetObject, HeadObject, DeleteObject round trip with S3 headers", async () => {
    const body = "hello, lake";
    const put = await s3("/warehouse/t/data/a.txt", {
      method: "PUT",
      body,
      headers: { "Content-Type": "text/plain", "x-amz-meta-origin": "test" },
    });
    expect(put.status).toBe(200);
    const etag = put.headers.get("ETag");
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    const stored = await env.LAKEHOUSE_BUCKET.get("warehouse/t/data/a.txt");
    expect(await stored!.text()).toBe(body);

    const get = await s3("/warehouse/t/data/a.txt");
    expect(get.status).toBe(200);
    expect(await get.text()).toBe(body);
    expect(get.headers.get("ETag")).toBe(etag);
    expect(get.headers.get("Content-Length")).toBe(String(body.length));
    expect(get.headers.get("Content-Type")).toBe("text/plain");
    expect(get.headers.get("x-amz-meta-origin")).toBe("test");
    expect(Date.parse(get.headers.get("Last-Modified")!)).not.toBeNaN();
    expect(get.headers.get("x-amz-request-id")).toMatch(/^[0-9A-F]{16}$/);

    const head = await s3("/warehouse/t/data/a.txt", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("Content-Length")).toBe(String(body.length));
    expect(head.headers.get("ETag")).toBe(etag);

    expect((await s3("/warehouse/t/data/a.txt", { method: "DELETE" })).status).toBe(204);
    expect(await env.LAKEHOUSE_BUCKET.head("warehouse/t/data/a.txt")).toBeNull();
  });

  it("answers a missing key with NoSuchKey XML (GET) and a bare 404 (HEAD)", async () => {
    const get = await s3("/no/such/key");
    expect(get.status).toBe(404);
    const xml = await get.text();
    expect(xmlValue(xml, "Code")).toBe("NoSuchKey");
    expect(xmlValue(xml, "Key")).toBe("no/such/key");
    const head = await s3("/no/such/key", { method: "HEAD" });
    expect(head.status).toBe(404);
    expect(await head.text()).toBe("");
  });

  it("serves byte ranges: a-b, a-, -n, past the end, and refuses unsatisfiable ones", async () => {
    const data = pattern(1000);
    await env.LAKEHOUSE_BUCKET.put("ranges/f.bin", data);
    const cases: [string, number, number][] = [
      ["bytes=0-9", 0, 10],
      ["bytes=990-", 990, 1000],
      ["bytes=-8", 992, 1000],
      ["bytes=500-5000", 500, 1000],
      ["bytes=-5000", 0, 1000],
    ];
    for (const [range, start, end] of cases) {
      const res = await s3("/ranges/f.bin", { headers: { Range: range } });
      expect(res.status, range).toBe(206);
      expect(res.headers.get("Content-Range"), range).toBe(`bytes ${start}-${end - 1}/1000`);
      expect(res.headers.get("Content-Length"), range).toBe(String(end - start));
      expect(new Uint8Array(await res.arrayBuffer()), range).toEqual(data.slice(start, end));
    }
    const head = await s3("/ranges/f.bin", { method: "HEAD", headers: { Range: "bytes=10-19" } });
    expect(head.status).toBe(206);
    expect(head.headers.get("Content-Length")).toBe("10");
    const bad = await s3("/ranges/f.bin", { headers: { Range: "bytes=1000-" } });
    expect(bad.status).toBe(416);
    expect(bad.headers.get("Content-Range")).toBe("bytes */1000");
    expect(xmlValue(await bad.text(), "Code")).toBe("InvalidRange");
  });

  it("honours If-None-Match (304) and If-Match (412)", async () => {
    const put = await s3("/cond/x", { method: "PUT", body: "x" });
    const etag = put.headers.get("ETag")!;
    expect((await s3("/cond/x", { headers: { "If-None-Match": etag } })).status).toBe(304);
    expect((await s3("/cond/x", { headers: { "If-Match": etag } })).status).toBe(200);
    const failed = await s3("/cond/x", { headers: { "If-Match": '"0000"' } });
    expect(failed.status).toBe(412);
    expect(xmlValue(await failed.text(), "Code")).toBe("PreconditionFailed");
    // Conditional write: create-only.
    expect((await s3("/cond/x", { method: "PUT", body: "y", headers: { "If-None-Match": "*" } })).status).toBe(412);
    expect(await (await env.LAKEHOUSE_BUCKET.get("cond/x"))!.text()).toBe("x");
  });

  it("keeps keys exactly: spaces, '+', '=', unicode, encoded slashes", async () => {
    const keys = ["sp ace/f.parquet", "plus+sign", "part/x=1/y=é/f", "a%2Fb"];
    for (const key of keys) {
      const path = "/" + key.split("/").map(encodeURIComponent).join("/");
      expect((await s3(path, { method: "PUT", body: key })).status, key).toBe(200);
      const decoded = decodeURIComponent(path.slice(1));
      expect(await (await env.LAKEHOUSE_BUCKET.get(decoded))?.text(), key).toBe(key);
      expect(await (await s3(path)).text(), key).toBe(key);
    }
  });

  it("CopyObject copies bytes and metadata within the bucket", async () => {
    await s3("/copy/src", { method: "PUT", body: "copied", headers: { "Content-Type": "text/x-test" } });
    const res = await s3("/copy/dst", { method: "PUT", headers: { "x-amz-copy-source": "/dolake-warehouse/copy/src" } });
    expect(res.status).toBe(200);
    const xml = await res.text();
    expect(xml).toContain("<CopyObjectResult");
    expect(xmlValue(xml, "ETag")).toMatch(/^&quot;|^"/);
    const got = await s3("/copy/dst");
    expect(await got.text()).toBe("copied");
    expect(got.headers.get("Content-Type")).toBe("text/x-test");
    const missing = await s3("/copy/dst2", { method: "PUT", headers: { "x-amz-copy-source": "dolake-warehouse/copy/none" } });
    expect(missing.status).toBe(404);
  });

  it("refuses a body that does not match the signed x-amz-content-sha256, writing nothing", async () => {
    const res = await s3("/hash/x", {
      method: "PUT",
      body: "actual body",
      headers: { "x-amz-content-sha256": "0".repeat(64) },
    });
    expect(res.status).toBe(400);
    expect(xmlValue(await res.text(), "Code")).toBe("XAmzContentSHA256Mismatch");
    expect(await env.LAKEHOUSE_BUCKET.head("hash/x")).toBeNull();
  });

  it("stores and serves empty objects (directory markers)", async () => {
    expect((await s3("/empty/dir/", { method: "PUT", body: "" })).status).toBe(200);
    const got = await s3("/empty/dir/");
    expect(got.status).toBe(200);
    expect(got.headers.get("Content-Length")).toBe("0");
    expect(await got.text()).toBe("");
    const head = await s3("/empty/dir/", { method: "HEAD" });
    expect(head.headers.get("Content-Length")).toBe("0");
  });

  it("accepts UNSIGNED-PAYLOAD bodies and large streamed ones", async () => {
    const big = pattern(3 * 1024 * 1024 + 17);
    const res = await s3("/big/unsigned", { method: "PUT", body: big, headers: { "x-amz-content-sha256": "UNSIGNED-PAYLOAD" } });
    expect(res.status).toBe(200);
    const signed = await s3("/big/signed", { method: "PUT", body: big });
    expect(signed.status).toBe(200);
    const back = await s3("/big/signed");
    expect(await digest(await back.arrayBuffer())).toBe(await digest(big));
    // Past the in-memory limit the body streams, and R2 itself checks the signed hash.
    const wrong = await s3("/big/wrong", { method: "PUT", body: big, headers: { "x-amz-content-sha256": "1".repeat(64) } });
    expect(wrong.status).toBe(400);
    expect(xmlValue(await wrong.text(), "Code")).toBe("XAmzContentSHA256Mismatch");
    expect(await env.LAKEHOUSE_BUCKET.head("big/wrong")).toBeNull();
  });
});
