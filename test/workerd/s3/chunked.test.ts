// aws-chunked uploads (x-amz-content-sha256: STREAMING-*), built here byte by byte from the AWS
// spec (sigv4-streaming.html, sigv4-streaming-trailers.html) with a signer local to this test: the
// request headers are signed by aws4fetch, the chunk chain continues from its signature.
import { SELF } from "cloudflare:test";
import { crc32 } from "node:zlib";
import { beforeEach, describe, expect, it } from "vitest";
import { BUCKET_URL, adminKeys, client, digest, env, pattern, s3, xmlValue } from "./helpers.js";

type Mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" | "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER" | "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
type Tamper = "chunk-data" | "chunk-signature" | "final-signature" | "checksum" | "trailer-signature" | "decoded-length" | "truncated";

const enc = new TextEncoder();
const hex = (b: ArrayBuffer) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");
const sha256 = async (data: Uint8Array | string) => hex(await crypto.subtle.digest("SHA-256", typeof data === "string" ? enc.encode(data) : data));
async function hmac(key: Uint8Array | string, data: string): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey("raw", typeof key === "string" ? enc.encode(key) : key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, enc.encode(data)));
}

/** Signs the headers with aws4fetch, then frames (and signs) the payload as aws-chunked. */
async function chunkedRequest(path: string, payload: Uint8Array, mode: Mode, chunkSize: number, tamper?: Tamper, query = ""): Promise<Request> {
  const trailer = mode.endsWith("TRAILER");
  const signed = mode.startsWith("STREAMING-AWS4");
  const headers: Record<string, string> = {
    "x-amz-content-sha256": mode,
    "content-encoding": "aws-chunked",
    "x-amz-decoded-content-length": String(payload.length + (tamper === "decoded-length" ? 1 : 0)),
  };
  if (trailer) headers["x-amz-trailer"] = "x-amz-checksum-crc32";
  const request = await (await client()).sign(`${BUCKET_URL}${path}${query}`, { method: "PUT", headers });
  const amzDate = request.headers.get("x-amz-date")!;
  const scope = `${amzDate.slice(0, 8)}/auto/s3/aws4_request`;
  const { secretAccessKey } = adminKeys();
  let key = await hmac(`AWS4${secretAccessKey}`, amzDate.slice(0, 8));
  for (const part of ["auto", "s3", "aws4_request"]) key = await hmac(key, part);
  let previous = /Signature=([0-9a-f]{64})/.exec(request.headers.get("authorization")!)![1]!;
  const signChunk = async (data: Uint8Array) => {
    previous = hex((await hmac(key, ["AWS4-HMAC-SHA256-PAYLOAD", amzDate, scope, previous, await sha256(""), await sha256(data)].join("\n"))).buffer as ArrayBuffer);
    return previous;
  };

  const wire: Uint8Array[] = [];
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < payload.length; at += chunkSize) chunks.push(payload.slice(at, at + chunkSize));
  for (const [i, chunk] of chunks.entries()) {
    let sig = signed ? await signChunk(chunk) : "";
    if (tamper === "chunk-signature" && i === 0) sig = sig.replace(/^./, (c) => (c === "0" ? "1" : "0"));
    const data = tamper === "chunk-data" && i === chunks.length - 1 ? chunk.map((b) => b ^ 1) : chunk;
    wire.push(enc.encode(`${chunk.length.toString(16)}${signed ? `;chunk-signature=${sig}` : ""}\r\n`), data, enc.encode("\r\n"));
  }
  if (tamper === "truncated") return new Request(request.url, { method: "PUT", headers: request.headers, body: new Blob(wire) });
  let finalSig = signed ? await signChunk(new Uint8Array(0)) : "";
  if (tamper === "final-signature") finalSig = "f".repeat(64);
  wire.push(enc.encode(`0${signed ? `;chunk-signature=${finalSig}` : ""}\r\n`));
  if (trailer) {
    let checksum = btoa(String.fromCharCode(...new Uint8Array(new Uint32Array([crc32(payload)]).buffer).reverse()));
    if (tamper === "checksum") checksum = "AAAAAA==";
    const canonical = `x-amz-checksum-crc32:${checksum}\n`;
    wire.push(enc.encode(`x-amz-checksum-crc32:${checksum}\r\n`));
    if (signed) {
      let sig = hex((await hmac(key, ["AWS4-HMAC-SHA256-TRAILER", amzDate, scope, previous, await sha256(canonical)].join("\n"))).buffer as ArrayBuffer);
      if (tamper === "trailer-signature") sig = "0".repeat(64);
      wire.push(enc.encode(`x-amz-trailer-signature:${sig}\r\n`));
    }
  }
  wire.push(enc.encode("\r\n"));
  return new Request(request.url, { method: "PUT", headers: request.headers, body: new Blob(wire) });
}

const MODES: Mode[] = ["STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"];

describe("aws-chunked uploads", () => {
  beforeEach(async () => {
    await env.LAKEHOUSE_BUCKET.put("chunked/existing", "old verified value");
  });

  for (const mode of MODES) {
    it(`${mode}: decodes and stores the payload (small and streamed)`, async () => {
      for (const [size, chunk] of [[200_000, 65_536], [0, 65_536], [2 * 1024 * 1024 + 5, 128 * 1024]] as const) {
        const payload = pattern(size);
        const res = await SELF.fetch(await chunkedRequest("/chunked/ok", payload, mode, chunk));
        expect(res.status, `${size}: ${await res.clone().text()}`).toBe(200);
        const got = await s3("/chunked/ok");
        expect(got.headers.get("Content-Length")).toBe(String(size));
        expect(got.headers.get("Content-Encoding")).toBeNull();
        expect(await digest(await got.arrayBuffer())).toBe(await digest(payload));
      }
    });
  }

  const refusals: [Mode, Tamper, number, string][] = [
    ["STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "chunk-data", 403, "SignatureDoesNotMatch"],
    ["STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "chunk-signature", 403, "SignatureDoesNotMatch"],
    ["STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "final-signature", 403, "SignatureDoesNotMatch"],
    ["STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "decoded-length", 400, "IncompleteBody"],
    ["STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "truncated", 400, "IncompleteBody"],
    ["STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", "trailer-signature", 403, "SignatureDoesNotMatch"],
    ["STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", "checksum", 400, "BadDigest"],
    ["STREAMING-UNSIGNED-PAYLOAD-TRAILER", "checksum", 400, "BadDigest"],
    ["STREAMING-UNSIGNED-PAYLOAD-TRAILER", "chunk-data", 400, "BadDigest"],
  ];
  for (const [mode, tamper, status, code] of refusals) {
    it(`${mode}: refuses ${tamper} and leaves the old object (buffered and streamed bodies)`, async () => {
      for (const size of [100_000, 2 * 1024 * 1024 + 5]) {
        const res = await SELF.fetch(await chunkedRequest("/chunked/existing", pattern(size), mode, 64 * 1024, tamper));
        expect(res.status, `${size}`).toBe(status);
        expect(xmlValue(await res.text(), "Code"), `${size}`).toBe(code);
        expect(await (await env.LAKEHOUSE_BUCKET.get("chunked/existing"))!.text()).toBe("old verified value");
      }
    });
  }

  it("works for multipart parts, as the Java SDK sends them", async () => {
    const create = await s3("/chunked/mp?uploads", { method: "POST" });
    const uploadId = encodeURIComponent(xmlValue(await create.text(), "UploadId")!);
    const payload = pattern(5 * 1024 * 1024);
    const part = await SELF.fetch(await chunkedRequest("/chunked/mp", payload, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", 128 * 1024, undefined, `?partNumber=1&uploadId=${uploadId}`));
    expect(part.status, await part.clone().text()).toBe(200);
    const etag = part.headers.get("ETag");
    const done = await s3(`/chunked/mp?uploadId=${uploadId}`, {
      method: "POST",
      body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${etag}</ETag></Part></CompleteMultipartUpload>`,
    });
    expect(done.status).toBe(200);
    expect(await digest(await (await s3("/chunked/mp")).arrayBuffer())).toBe(await digest(payload));
    const bad = await SELF.fetch(await chunkedRequest("/chunked/mp", payload, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", 128 * 1024, "chunk-data", `?partNumber=2&uploadId=${uploadId}`));
    expect(bad.status).toBe(403);
  });
});
