import { describe, expect, it } from "vitest";
import { digest, env, pattern, s3, xmlValue } from "./helpers.js";

const MiB = 1024 * 1024;

describe("S3 multipart upload", () => {
  it("creates, uploads parts, completes, and serves the whole object", async () => {
    const create = await s3("/mp/big.parquet?uploads", { method: "POST", headers: { "Content-Type": "application/vnd.apache.parquet" } });
    expect(create.status).toBe(200);
    const xml = await create.text();
    expect(xml).toContain("<InitiateMultipartUploadResult");
    expect(xmlValue(xml, "Key")).toBe("mp/big.parquet");
    const uploadId = xmlValue(xml, "UploadId")!;
    expect(uploadId).toBeTruthy();

    const data = pattern(5 * MiB + 1234);
    const parts = [data.slice(0, 5 * MiB), data.slice(5 * MiB)];
    const etags: string[] = [];
    for (const [i, part] of parts.entries()) {
      const res = await s3(`/mp/big.parquet?partNumber=${i + 1}&uploadId=${encodeURIComponent(uploadId)}`, { method: "PUT", body: part });
      expect(res.status, await res.clone().text()).toBe(200);
      etags.push(res.headers.get("ETag")!);
    }
    const body =
      "<CompleteMultipartUpload>" +
      etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join("") +
      "</CompleteMultipartUpload>";
    // A full-object checksum header on Complete describes the object, not this XML body.
    const done = await s3(`/mp/big.parquet?uploadId=${encodeURIComponent(uploadId)}`, {
      method: "POST",
      body,
      headers: { "x-amz-checksum-crc32": "AAAAAA==", "x-amz-checksum-type": "FULL_OBJECT" },
    });
    expect(done.status).toBe(200);
    const doneXml = await done.text();
    expect(doneXml).toContain("<CompleteMultipartUploadResult");
    expect(xmlValue(doneXml, "ETag")).toMatch(/-2&quot;$/);

    const got = await s3("/mp/big.parquet");
    expect(got.headers.get("Content-Type")).toBe("application/vnd.apache.parquet");
    expect(await digest(await got.arrayBuffer())).toBe(await digest(data));
    const tail = await s3("/mp/big.parquet", { headers: { Range: "bytes=-1234" } });
    expect(await digest(await tail.arrayBuffer())).toBe(await digest(data.slice(5 * MiB)));
  });

  it("aborts an upload, after which it is gone", async () => {
    const create = await s3("/mp/aborted?uploads", { method: "POST" });
    const uploadId = xmlValue(await create.text(), "UploadId")!;
    await s3(`/mp/aborted?partNumber=1&uploadId=${encodeURIComponent(uploadId)}`, { method: "PUT", body: "part" });
    expect((await s3(`/mp/aborted?uploadId=${encodeURIComponent(uploadId)}`, { method: "DELETE" })).status).toBe(204);
    const after = await s3(`/mp/aborted?partNumber=2&uploadId=${encodeURIComponent(uploadId)}`, { method: "PUT", body: "late" });
    expect(after.status).toBe(404);
    expect(xmlValue(await after.text(), "Code")).toBe("NoSuchUpload");
    expect(await env.LAKEHOUSE_BUCKET.head("mp/aborted")).toBeNull();
  });

  it("refuses bad part numbers, unordered part lists and unknown parts", async () => {
    const create = await s3("/mp/bad?uploads", { method: "POST" });
    const uploadId = encodeURIComponent(xmlValue(await create.text(), "UploadId")!);
    const zero = await s3(`/mp/bad?partNumber=0&uploadId=${uploadId}`, { method: "PUT", body: "x" });
    expect(zero.status).toBe(400);
    const p1 = await s3(`/mp/bad?partNumber=1&uploadId=${uploadId}`, { method: "PUT", body: "x" });
    const e1 = p1.headers.get("ETag")!;
    const unordered = await s3(`/mp/bad?uploadId=${uploadId}`, {
      method: "POST",
      body: `<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>"a"</ETag></Part><Part><PartNumber>1</PartNumber><ETag>${e1}</ETag></Part></CompleteMultipartUpload>`,
    });
    expect(unordered.status).toBe(400);
    expect(xmlValue(await unordered.text(), "Code")).toBe("InvalidPartOrder");
    const unknown = await s3(`/mp/bad?uploadId=${uploadId}`, {
      method: "POST",
      body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"0123"</ETag></Part></CompleteMultipartUpload>`,
    });
    expect(unknown.status).toBe(400);
    expect(xmlValue(await unknown.text(), "Code")).toBe("InvalidPart");
  });

  it("refuses a part whose body does not match its signed hash", async () => {
    const create = await s3("/mp/hash?uploads", { method: "POST" });
    const uploadId = encodeURIComponent(xmlValue(await create.text(), "UploadId")!);
    const res = await s3(`/mp/hash?partNumber=1&uploadId=${uploadId}`, { method: "PUT", body: "part", headers: { "x-amz-content-sha256": "2".repeat(64) } });
    expect(res.status).toBe(400);
    expect(xmlValue(await res.text(), "Code")).toBe("XAmzContentSHA256Mismatch");
  });
});
