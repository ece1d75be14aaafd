/**
 * S3-compatible object access over the R2 binding, for engines that read and write tables by
 * s3:// path (pyiceberg/pyarrow, DuckDB, Spark S3FileIO, Trino). Path-style addressing:
 * /<bucket> for bucket operations, /<bucket>/<key> for objects. Every request must carry a valid
 * AWS Signature V4 (header or presigned) made with a warehouse's key pair, which reaches only
 * keys under `<warehouse>/`, or with the operator's admin pair (credentials.ts). Every key is a
 * plain normalized path (request.ts keyProblem).
 * The route table below binds (method, level, sub-resource) to one handler each.
 */
import type { Env } from "../env.js";
import { bucketLocation, deleteObjects, headBucket, listObjectsV1, listObjectsV2 } from "./bucket.js";
import { type S3Principal, adminCredentials, principalFor } from "./credentials.js";
import { abortMultipartUpload, completeMultipartUpload, createMultipartUpload, uploadPart } from "./multipart.js";
import { deleteObject, getObject, putObject } from "./objects.js";
import { type S3Request, bucketName, checkKey, isS3Path, newRequestId, objectKey, queryParams } from "./request.js";
import { verifyRequest } from "./verify.js";
import { S3Error, accessDenied, errorResponse, notImplemented } from "./xml.js";

export { s3Credentials } from "./credentials.js";

/** True when this request is addressed to the S3 API (path-style: /<bucket>/<key>). */
export function isS3Request(request: Request, env: Env): boolean {
  return isS3Path(new URL(request.url).pathname, env);
}

/** Serves one S3 API request: verify the signature, route, and answer errors as S3 XML. */
export async function handleS3Request(request: Request, env: Env): Promise<Response> {
  const requestId = newRequestId();
  const url = new URL(request.url);
  let response: Response;
  try {
    response = await serve(request, env, url);
  } catch (err) {
    if (!(err instanceof S3Error)) {
      // Never send a stack to a client; the id ties the log line to the answer.
      console.error(`s3 ${requestId} ${request.method} ${url.pathname}:`, err);
      err = new S3Error(500, "InternalError", `We encountered an internal error (request id ${requestId}). Please try again.`);
    }
    response = errorResponse(err as S3Error, url.pathname, requestId, request.method);
  }
  response.headers.set("x-amz-request-id", requestId);
  return response;
}

/** Verifies and dispatches; throws S3Error for every refusal. */
async function serve(request: Request, env: Env, url: URL): Promise<Response> {
  if (!env.LAKE_TOKEN && !adminCredentials(env)) {
    throw accessDenied("S3 credentials are not configured: set LAKE_TOKEN or S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY");
  }
  // A key that is not a plain normalized path is refused for every pair, before the signature:
  // its canonical form differs between signers, and no answer about it depends on who asks.
  const key = objectKey(url.pathname);
  if (key !== "") checkKey({}, key);
  let principal: S3Principal | undefined;
  const auth = await verifyRequest(request, async (id) => (principal = await principalFor(env, id))?.keys);
  const req: S3Request = {
    request,
    bucket: env.LAKEHOUSE_BUCKET,
    bucketName: bucketName(env),
    key,
    params: queryParams(auth.query),
    auth,
    warehouse: principal!.warehouse,
  };
  if (key !== "") checkKey(req, key);
  return key === "" ? bucketOperation(req) : objectOperation(req);
}

/** Operations on /<bucket>. */
function bucketOperation(req: S3Request): Promise<Response> | Response {
  const { params } = req;
  const method = req.request.method;
  switch (method) {
    case "GET":
      if (params.has("location")) return bucketLocation();
      if (params.get("list-type") === "2") return listObjectsV2(req);
      if (params.has("list-type")) throw new S3Error(400, "InvalidArgument", "list-type must be 2");
      for (const sub of params.keys()) if (BUCKET_SUBRESOURCES.has(sub)) throw notImplemented(`GET ?${sub}`);
      return listObjectsV1(req);
    case "HEAD":
      return headBucket();
    case "POST":
      if (params.has("delete")) return deleteObjects(req);
      break;
    case "PUT":
      throw new S3Error(409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.");
    case "DELETE":
      throw accessDenied("The warehouse bucket cannot be deleted through the S3 API");
  }
  throw new S3Error(405, "MethodNotAllowed", `The specified method is not allowed against this resource: ${method} /${req.bucketName}`);
}

/** Bucket sub-resources S3 defines that this API does not serve (answered NotImplemented, not as a listing). */
const BUCKET_SUBRESOURCES = new Set([
  "acl", "analytics", "cors", "encryption", "intelligent-tiering", "inventory", "lifecycle", "logging", "metrics",
  "notification", "object-lock", "ownershipControls", "policy", "policyStatus", "publicAccessBlock", "replication",
  "requestPayment", "tagging", "uploads", "versioning", "versions", "website", "accelerate",
]);

/** Object sub-resources this API does not serve. */
const OBJECT_SUBRESOURCES = ["acl", "tagging", "torrent", "retention", "legal-hold", "attributes", "restore", "select"];

/** Operations on /<bucket>/<key>. */
function objectOperation(req: S3Request): Promise<Response> {
  const { params } = req;
  const method = req.request.method;
  for (const sub of OBJECT_SUBRESOURCES) if (params.has(sub)) throw notImplemented(`${method} ?${sub}`);
  switch (method) {
    case "GET":
      if (params.has("uploadId")) throw notImplemented("ListParts");
      return getObject(req, false);
    case "HEAD":
      return getObject(req, true);
    case "PUT":
      return params.has("uploadId") || params.has("partNumber") ? uploadPart(req) : putObject(req);
    case "POST":
      if (params.has("uploads")) return createMultipartUpload(req);
      if (params.has("uploadId")) return completeMultipartUpload(req);
      break;
    case "DELETE":
      return params.has("uploadId") ? abortMultipartUpload(req) : deleteObject(req);
  }
  throw new S3Error(405, "MethodNotAllowed", `The specified method is not allowed against this resource: ${method}`);
}
