import { beforeAll, describe, expect, it } from "vitest";
import { env, s3, xmlValue, xmlValues } from "./helpers.js";

const KEYS = ["lst/a/1.parquet", "lst/a/2.parquet", "lst/a/b/3.parquet", "lst/c.json", "lst/d e/f.avro", "lst/z"];

/** Lists with the given query; returns the XML. */
async function list(query: string): Promise<string> {
  const res = await s3(`?${query}`);
  expect(res.status, await res.clone().text()).toBe(200);
  expect(res.headers.get("Content-Type")).toBe("application/xml");
  return res.text();
}

describe("ListObjectsV2", () => {
  beforeAll(async () => {
    for (const key of KEYS) await env.LAKEHOUSE_BUCKET.put(key, key);
  });

  it("lists every key under a prefix, in order, with S3's fields", async () => {
    const xml = await list("list-type=2&prefix=lst%2F");
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<ListBucketResult xmlns="http:\/\/s3.amazonaws.com\/doc\/2006-03-01\/">/);
    expect(xmlValue(xml, "Name")).toBe("dolake-warehouse");
    expect(xmlValue(xml, "Prefix")).toBe("lst/");
    expect(xmlValue(xml, "KeyCount")).toBe(String(KEYS.length));
    expect(xmlValue(xml, "MaxKeys")).toBe("1000");
    expect(xmlValue(xml, "IsTruncated")).toBe("false");
    expect(xmlValues(xml, "Key")).toEqual([...KEYS].sort());
    expect(xmlValues(xml, "Size")).toEqual([...KEYS].sort().map((k) => String(k.length)));
    expect(xmlValues(xml, "StorageClass").every((s) => s === "STANDARD")).toBe(true);
    expect(xmlValue(xml, "LastModified")).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(xmlValue(xml, "ETag")).toMatch(/^&quot;[0-9a-f]{32}&quot;$/);
  });

  it("groups by delimiter into CommonPrefixes", async () => {
    const xml = await list("list-type=2&prefix=lst%2F&delimiter=%2F");
    expect(xmlValues(xml, "Key")).toEqual(["lst/c.json", "lst/z"]);
    expect(xmlValues(xml, "Prefix").slice(1)).toEqual(["lst/a/", "lst/d e/"]);
    expect(xmlValue(xml, "Delimiter")).toBe("/");
    expect(xmlValue(xml, "KeyCount")).toBe("4");
    const inner = await list("list-type=2&prefix=lst%2Fa%2F&delimiter=%2F");
    expect(xmlValues(inner, "Key")).toEqual(["lst/a/1.parquet", "lst/a/2.parquet"]);
    expect(xmlValues(inner, "Prefix").slice(1)).toEqual(["lst/a/b/"]);
  });

  it("pages with max-keys and continuation tokens, keys and prefixes together", async () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const xml = await list(`list-type=2&prefix=lst%2F&delimiter=%2F&max-keys=1${token ? `&continuation-token=${encodeURIComponent(token)}` : ""}`);
      pages++;
      expect(xmlValue(xml, "KeyCount")).toBe("1");
      if (token) expect(xmlValue(xml, "ContinuationToken")).toBe(token.replace(/&/g, "&amp;"));
      seen.push(...xmlValues(xml, "Key"), ...xmlValues(xml, "Prefix").slice(1));
      token = xmlValue(xml, "IsTruncated") === "true" ? xmlValue(xml, "NextContinuationToken") : undefined;
      if (xmlValue(xml, "IsTruncated") === "true") expect(token).toBeTruthy();
    } while (token && pages < 10);
    expect(seen).toEqual(["lst/a/", "lst/c.json", "lst/d e/", "lst/z"]);
  });

  it("starts after a key", async () => {
    const xml = await list("list-type=2&prefix=lst%2F&start-after=lst%2Fc.json");
    expect(xmlValues(xml, "Key")).toEqual(["lst/d e/f.avro", "lst/z"]);
    expect(xmlValue(xml, "StartAfter")).toBe("lst/c.json");
  });

  it("URL-encodes keys and prefixes when asked (encoding-type=url, as boto3 asks)", async () => {
    const xml = await list("list-type=2&prefix=lst%2Fd&encoding-type=url&delimiter=%2F");
    expect(xmlValue(xml, "EncodingType")).toBe("url");
    expect(xmlValues(xml, "Prefix")).toEqual(["lst/d", "lst/d%20e/"]);
  });

  it("answers max-keys=0 with an empty page and refuses a bad max-keys", async () => {
    const xml = await list("list-type=2&prefix=lst%2F&max-keys=0");
    expect(xmlValue(xml, "KeyCount")).toBe("0");
    const bad = await s3("?list-type=2&max-keys=x");
    expect(bad.status).toBe(400);
    expect(xmlValue(await bad.text(), "Code")).toBe("InvalidArgument");
  });

  it("serves ListObjects v1 with markers", async () => {
    const first = await list("prefix=lst%2F&delimiter=%2F&max-keys=2");
    expect(xmlValue(first, "IsTruncated")).toBe("true");
    const marker = xmlValue(first, "NextMarker")!;
    expect(marker).toBe("lst/c.json");
    const second = await list(`prefix=lst%2F&delimiter=%2F&marker=${encodeURIComponent(marker)}`);
    expect([...xmlValues(second, "Key"), ...xmlValues(second, "Prefix").slice(1)]).toEqual(["lst/z", "lst/d e/"]);
  });
});

describe("bucket operations", () => {
  it("HeadBucket and GetBucketLocation", async () => {
    const head = await s3("", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("x-amz-bucket-region")).toBe("auto");
    const loc = await s3("?location");
    expect(await loc.text()).toContain(">auto</LocationConstraint>");
  });

  it("DeleteObjects removes the named keys and reports them", async () => {
    await env.LAKEHOUSE_BUCKET.put("del/1", "1");
    await env.LAKEHOUSE_BUCKET.put("del/2 &", "2");
    await env.LAKEHOUSE_BUCKET.put("del/keep", "3");
    const body = `<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>del/1</Key></Object><Object><Key>del/2 &amp;</Key></Object><Object><Key>del/missing</Key></Object></Delete>`;
    const res = await s3("?delete", { method: "POST", body });
    expect(res.status).toBe(200);
    const xml = await res.text();
    expect(xml).toContain("<DeleteResult");
    expect(xmlValues(xml, "Key")).toEqual(["del/1", "del/2 &amp;", "del/missing"]);
    expect(await env.LAKEHOUSE_BUCKET.head("del/1")).toBeNull();
    expect(await env.LAKEHOUSE_BUCKET.head("del/2 &")).toBeNull();
    expect(await env.LAKEHOUSE_BUCKET.head("del/keep")).not.toBeNull();
    const quiet = await s3("?delete", { method: "POST", body: "<Delete><Quiet>true</Quiet><Object><Key>del/keep</Key></Object></Delete>" });
    expect(xmlValues(await quiet.text(), "Key")).toEqual([]);
    expect(await env.LAKEHOUSE_BUCKET.head("del/keep")).toBeNull();
  });

  it("answers unserved sub-resources with NotImplemented, never a listing", async () => {
    const res = await s3("?versioning");
    expect(res.status).toBe(501);
    expect(xmlValue(await res.text(), "Code")).toBe("NotImplemented");
  });
});
