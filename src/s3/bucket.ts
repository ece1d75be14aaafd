/**
 * Bucket-level operations: ListObjectsV2 (and the older ListObjects), DeleteObjects, HeadBucket
 * and GetBucketLocation. Listing maps onto R2's list, which already counts keys and common
 * prefixes together against the limit and orders keys by their UTF-8 bytes, as S3 does.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
 */
import { smallBody } from "./body.js";
import { type S3Request, checkKey, checkPrefix } from "./request.js";
import { uriEncode } from "./sigv4.js";
import { S3Error, type XmlNode, invalidArgument, isoTime, xmlElements, xmlResponse, xmlText } from "./xml.js";

/** Most keys one listing page returns (S3's and R2's cap). */
export const MAX_LIST_KEYS = 1000;
/** Most keys one DeleteObjects request may name. */
export const MAX_DELETE_KEYS = 1000;
/** Region reported for the bucket: R2's. */
export const BUCKET_REGION = "auto";

/** Parses max-keys: 0..1000 (larger values are capped, as S3 caps them). */
function maxKeys(params: Map<string, string>): number {
  const raw = params.get("max-keys");
  if (raw === undefined) return MAX_LIST_KEYS;
  if (!/^\d+$/.test(raw)) throw invalidArgument("Provided max-keys not an integer or within integer range", "max-keys", raw);
  return Math.min(Number(raw), MAX_LIST_KEYS);
}

/** Encodes a key for the response when the client asked for encoding-type=url. */
function encoder(params: Map<string, string>): (value: string) => string {
  const type = params.get("encoding-type");
  if (type === undefined) return (v) => v;
  if (type !== "url") throw invalidArgument("Invalid Encoding Method specified in Request", "encoding-type", type);
  return (v) => uriEncode(v, true);
}

/** One R2 list page. */
async function listPage(req: S3Request, options: R2ListOptions, limit: number): Promise<R2Objects> {
  if (limit === 0) return { objects: [], delimitedPrefixes: [], truncated: false } as R2Objects;
  return req.bucket.list({ ...options, limit });
}

/** <Contents> and <CommonPrefixes> entries of a page. */
function entries(page: R2Objects, enc: (v: string) => string): XmlNode {
  const out: XmlNode = [];
  for (const obj of page.objects) {
    out.push([
      "Contents",
      [
        ["Key", enc(obj.key)],
        ["LastModified", isoTime(obj.uploaded)],
        ["ETag", obj.httpEtag],
        ["Size", obj.size],
        ["StorageClass", "STANDARD"],
      ],
    ]);
  }
  for (const prefix of page.delimitedPrefixes) out.push(["CommonPrefixes", [["Prefix", enc(prefix)]]]);
  return out;
}

/** ListObjectsV2: prefix, delimiter, max-keys, start-after, continuation-token (R2's cursor). */
export async function listObjectsV2(req: S3Request): Promise<Response> {
  const { params } = req;
  const enc = encoder(params);
  const prefix = params.get("prefix") ?? "";
  checkPrefix(req, prefix);
  const delimiter = params.get("delimiter") || undefined;
  const token = params.get("continuation-token");
  const startAfter = params.get("start-after");
  const limit = maxKeys(params);
  if (token === "") throw invalidArgument("The continuation token provided is incorrect", "continuation-token", token);
  const options: R2ListOptions = { prefix, delimiter };
  // A continuation token already encodes where to resume; start-after applies to the first page only.
  if (token !== undefined) options.cursor = token;
  else if (startAfter) options.startAfter = startAfter;
  let page: R2Objects;
  try {
    page = await listPage(req, options, limit);
  } catch (err) {
    if (token !== undefined) throw invalidArgument("The continuation token provided is incorrect", "continuation-token", token);
    throw err;
  }
  const truncated = page.truncated;
  return xmlResponse("ListBucketResult", [
    ["Name", req.bucketName],
    ["Prefix", enc(prefix)],
    ["Delimiter", delimiter === undefined ? undefined : enc(delimiter)],
    ["MaxKeys", limit],
    ["EncodingType", params.get("encoding-type")],
    ["KeyCount", page.objects.length + page.delimitedPrefixes.length],
    ["ContinuationToken", token],
    ["NextContinuationToken", truncated ? page.cursor : undefined],
    ["StartAfter", startAfter === undefined ? undefined : enc(startAfter)],
    ["IsTruncated", truncated],
    ...entries(page, enc),
  ]);
}

/** ListObjects (version 1): marker-based paging; NextMarker is always sent when truncated. */
export async function listObjectsV1(req: S3Request): Promise<Response> {
  const { params } = req;
  const enc = encoder(params);
  const prefix = params.get("prefix") ?? "";
  checkPrefix(req, prefix);
  const delimiter = params.get("delimiter") || undefined;
  const marker = params.get("marker") ?? "";
  const limit = maxKeys(params);
  let startAfter = marker || undefined;
  // A marker that is a common prefix resumes after every key under it, not inside it.
  if (startAfter && delimiter && startAfter.startsWith(prefix) && startAfter.endsWith(delimiter)) startAfter += "\u{10FFFF}";
  const page = await listPage(req, { prefix, delimiter, startAfter }, limit);
  const lastKey = page.objects.at(-1)?.key ?? "";
  const lastPrefix = page.delimitedPrefixes.at(-1) ?? "";
  const nextMarker = lastKey > lastPrefix ? lastKey : lastPrefix;
  return xmlResponse("ListBucketResult", [
    ["Name", req.bucketName],
    ["Prefix", enc(prefix)],
    ["Marker", enc(marker)],
    ["NextMarker", page.truncated ? enc(nextMarker) : undefined],
    ["MaxKeys", limit],
    ["Delimiter", delimiter === undefined ? undefined : enc(delimiter)],
    ["EncodingType", params.get("encoding-type")],
    ["IsTruncated", page.truncated],
    ...entries(page, enc),
  ]);
}

/** DeleteObjects: POST ?delete with <Delete><Object><Key>..</Key></Object>..</Delete>. */
export async function deleteObjects(req: S3Request): Promise<Response> {
  const xml = await smallBody(req.request, req.auth);
  if (!/<Delete[\s>]/.test(xml)) throw new S3Error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.");
  const quiet = (xmlText(xml, "Quiet") ?? "false").trim() === "true";
  const keys = xmlElements(xml, "Object").map((o) => xmlText(o, "Key"));
  if (keys.length === 0 || keys.length > MAX_DELETE_KEYS || keys.some((k) => k === undefined || k === "")) {
    throw new S3Error(400, "MalformedXML", `DeleteObjects needs 1 to ${MAX_DELETE_KEYS} <Object><Key> entries`);
  }
  // All or nothing: one key outside the pair's warehouse (or not normalized) refuses the request.
  for (const key of keys) checkKey(req, key!);
  await req.bucket.delete(keys as string[]);
  const deleted: XmlNode = quiet ? [] : keys.map((k) => ["Deleted", [["Key", k!]]] as [string, XmlNode]);
  return xmlResponse("DeleteResult", deleted);
}

/** HeadBucket: the bucket exists (it is the binding); reports R2's region. */
export function headBucket(): Response {
  return new Response(null, { status: 200, headers: { "x-amz-bucket-region": BUCKET_REGION } });
}

/** GetBucketLocation. */
export function bucketLocation(): Response {
  return new Response(`<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${BUCKET_REGION}</LocationConstraint>`, {
    headers: { "Content-Type": "application/xml" },
  });
}
