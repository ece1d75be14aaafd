// SigV4 against the examples AWS publishes for S3 (sig-v4-header-based-auth.html,
// sigv4-query-string-auth.html, sigv4-streaming.html): same keys, same requests, same signatures.
import { describe, expect, it } from "vitest";
import { decodeAwsChunked } from "../../../src/s3/chunked.js";
import { canonicalQueryString, canonicalUri, parseQuery, sha256Hex, uriEncode } from "../../../src/s3/sigv4.js";
import { verifyRequest } from "../../../src/s3/verify.js";
import { S3Error } from "../../../src/s3/xml.js";

const keys = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };
const now = Date.UTC(2013, 4, 24, 0, 5, 0);
const scope = "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request";
const emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

function authHeader(signedHeaders: string, signature: string): string {
  return `AWS4-HMAC-SHA256 Credential=${scope},SignedHeaders=${signedHeaders},Signature=${signature}`;
}

describe("AWS published S3 SigV4 examples", () => {
  it("GET Object with Range", async () => {
    const request = new Request("https://examplebucket.s3.amazonaws.com/test.txt", {
      headers: {
        Range: "bytes=0-9",
        "x-amz-content-sha256": emptyHash,
        "x-amz-date": "20130524T000000Z",
        Authorization: authHeader("host;range;x-amz-content-sha256;x-amz-date", "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
      },
    });
    const auth = await verifyRequest(request, keys, now);
    expect(auth.payload).toEqual({ kind: "sha256", hex: emptyHash });
  });

  it("PUT Object with a special character in the key", async () => {
    const body = "Welcome to Amazon S3.";
    const hash = await sha256Hex(body);
    expect(hash).toBe("44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    const request = new Request("https://examplebucket.s3.amazonaws.com/test$file.text", {
      method: "PUT",
      body,
      headers: {
        Date: "Fri, 24 May 2013 00:00:00 GMT",
        "x-amz-date": "20130524T000000Z",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "x-amz-content-sha256": hash,
        Authorization: authHeader(
          "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
          "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
        ),
      },
    });
    await verifyRequest(request, keys, now);
  });

  it("GET Bucket Lifecycle (a value-less sub-resource)", async () => {
    const request = new Request("https://examplebucket.s3.amazonaws.com/?lifecycle", {
      headers: {
        "x-amz-date": "20130524T000000Z",
        "x-amz-content-sha256": emptyHash,
        Authorization: authHeader("host;x-amz-content-sha256;x-amz-date", "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
      },
    });
    await verifyRequest(request, keys, now);
  });

  it("GET Bucket (List Objects) with a sorted query", async () => {
    const request = new Request("https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J", {
      headers: {
        "x-amz-date": "20130524T000000Z",
        "x-amz-content-sha256": emptyHash,
        Authorization: authHeader("host;x-amz-content-sha256;x-amz-date", "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
      },
    });
    await verifyRequest(request, keys, now);
  });

  it("presigned GET, valid for 86400 s, then expired", async () => {
    const url =
      "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
      "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
      "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
      "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
    const auth = await verifyRequest(new Request(url), keys, now);
    expect(auth.payload).toEqual({ kind: "unsigned" });
    const late = Date.UTC(2013, 4, 25, 0, 0, 1);
    await expect(verifyRequest(new Request(url), keys, late)).rejects.toMatchObject({ code: "AccessDenied", message: "Request has expired" });
  });

  it("a changed byte of the signature, the key or the time is refused", async () => {
    const headers = {
      Range: "bytes=0-9",
      "x-amz-content-sha256": emptyHash,
      "x-amz-date": "20130524T000000Z",
      Authorization: authHeader("host;range;x-amz-content-sha256;x-amz-date", "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb42"),
    };
    await expect(verifyRequest(new Request("https://examplebucket.s3.amazonaws.com/test.txt", { headers }), keys, now)).rejects.toMatchObject({
      code: "SignatureDoesNotMatch",
      status: 403,
    });
    const other = { ...keys, secretAccessKey: "x" };
    const good = { ...headers, Authorization: headers.Authorization.replace(/42$/, "41") };
    await expect(verifyRequest(new Request("https://examplebucket.s3.amazonaws.com/test.txt", { headers: good }), other, now)).rejects.toBeInstanceOf(S3Error);
    await expect(verifyRequest(new Request("https://examplebucket.s3.amazonaws.com/test.txt", { headers: good }), keys, now + 16 * 60_000)).rejects.toMatchObject({
      code: "RequestTimeTooSkewed",
    });
  });

  it("unsigned requests are refused", async () => {
    await expect(verifyRequest(new Request("https://examplebucket.s3.amazonaws.com/test.txt"), keys, now)).rejects.toMatchObject({ code: "AccessDenied", status: 403 });
  });

  it("STREAMING-AWS4-HMAC-SHA256-PAYLOAD: seed, chunk and final signatures", async () => {
    const request = new Request("https://s3.amazonaws.com/examplebucket/chunkObject.txt", {
      method: "PUT",
      headers: {
        "x-amz-date": "20130524T000000Z",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": "66560",
        "Content-Length": "66824",
        Authorization: authHeader(
          "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class",
          "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
        ),
      },
    });
    const auth = await verifyRequest(request, keys, now);
    expect(auth.payload).toEqual({ kind: "streaming", signed: true, trailer: false });
    const enc = new TextEncoder();
    const a = (n: number) => new Uint8Array(n).fill(0x61);
    const wire = [
      enc.encode("10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n"), a(65536), enc.encode("\r\n"),
      enc.encode("400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n"), a(1024), enc.encode("\r\n"),
      enc.encode("0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n"),
    ];
    expect(wire.reduce((n, p) => n + p.length, 0)).toBe(66824);
    const decoded = decodeAwsChunked(new Blob(wire).stream(), { auth, decodedLength: 66560 });
    const out = new Uint8Array(await new Response(decoded.readable).arrayBuffer());
    expect(out.length).toBe(66560);
    expect(out.every((b) => b === 0x61)).toBe(true);

    const tampered = [...wire];
    tampered[4] = a(1024).fill(0x62);
    const bad = decodeAwsChunked(new Blob(tampered).stream(), { auth, decodedLength: 66560 });
    await expect(new Response(bad.readable).arrayBuffer()).rejects.toBeDefined();
    expect(bad.failure()?.code).toBe("SignatureDoesNotMatch");
  });
});

describe("canonicalization", () => {
  it("encodes per SigV4 (RFC 3986 unreserved only, uppercase hex)", () => {
    expect(uriEncode("a b+c*~'()!/é")).toBe("a%20b%2Bc%2A~%27%28%29%21%2F%C3%A9");
    expect(uriEncode("data/x=1/f.parquet", true)).toBe("data/x%3D1/f.parquet");
  });
  it("re-encodes the path once, whatever the client escaped", () => {
    expect(canonicalUri("/bucket/a%20b/c+d/%C3%A9=x")).toBe("/bucket/a%20b/c%2Bd/%C3%A9%3Dx");
    expect(canonicalUri("/bucket/a b")).toBe("/bucket/a%20b");
    expect(canonicalUri("/bucket/a%2Fb")).toBe("/bucket/a%2Fb");
  });
  it("sorts the query by encoded name then value; bare names get an empty value", () => {
    expect(canonicalQueryString(parseQuery("uploads&prefix=a%2Fb&delimiter=%2F&list-type=2"))).toBe(
      "delimiter=%2F&list-type=2&prefix=a%2Fb&uploads=",
    );
  });
});
