/**
 * Multipart upload over R2's multipart API: CreateMultipartUpload, UploadPart,
 * CompleteMultipartUpload and AbortMultipartUpload. Engines use it for large Parquet files
 * (pyarrow, the Java SDK's transfer manager). R2 keeps the parts; nothing is listed here.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html and siblings.
 */
import { smallBody, uploadBody } from "./body.js";
import { storeError, uploadMetadata } from "./objects.js";
import type { S3Request } from "./request.js";
import { uriEncode } from "./sigv4.js";
import { S3Error, invalidArgument, xmlElements, xmlResponse, xmlText } from "./xml.js";

/** Highest part number S3 allows. */
export const MAX_PART_NUMBER = 10000;

/** NoSuchUpload, for an upload id R2 does not know. */
function noSuchUpload(uploadId: string): S3Error {
  return new S3Error(404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.", {
    UploadId: uploadId,
  });
}

/** Maps an R2 multipart failure to the S3 error a client expects. */
function multipartError(err: unknown, uploadId: string): S3Error {
  if (err instanceof S3Error) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/upload/i.test(message) && /(not exist|no such|not found|10024)/i.test(message)) return noSuchUpload(uploadId);
  if (/part/i.test(message) && /(invalid|not found|10025)/i.test(message)) {
    return new S3Error(400, "InvalidPart", "One or more of the specified parts could not be found.");
  }
  if (/(too small|EntityTooSmall|10011)/i.test(message)) {
    return new S3Error(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.");
  }
  return storeError(err);
}

/** CreateMultipartUpload: POST /<bucket>/<key>?uploads. */
export async function createMultipartUpload(req: S3Request): Promise<Response> {
  const upload = await req.bucket.createMultipartUpload(req.key, uploadMetadata(req.request.headers));
  return xmlResponse("InitiateMultipartUploadResult", [
    ["Bucket", req.bucketName],
    ["Key", req.key],
    ["UploadId", upload.uploadId],
  ]);
}

/** The uploadId parameter, required by the other multipart operations. */
function uploadIdOf(req: S3Request): string {
  const uploadId = req.params.get("uploadId");
  if (!uploadId) throw invalidArgument("uploadId is required", "uploadId");
  return uploadId;
}

/** UploadPart: PUT /<bucket>/<key>?partNumber=N&uploadId=X. */
export async function uploadPart(req: S3Request): Promise<Response> {
  const uploadId = uploadIdOf(req);
  const raw = req.params.get("partNumber") ?? "";
  const partNumber = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(partNumber >= 1 && partNumber <= MAX_PART_NUMBER)) {
    throw invalidArgument(`Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`, "partNumber", raw);
  }
  if (req.request.headers.has("x-amz-copy-source")) throw new S3Error(501, "NotImplemented", "UploadPartCopy is not implemented by the DoLake S3 API");
  const body = await uploadBody(req.request, req.auth, false);
  const upload = req.bucket.resumeMultipartUpload(req.key, uploadId);
  let part: R2UploadedPart;
  try {
    part = await upload.uploadPart(partNumber, body.value);
  } catch (err) {
    throw body.failure() ?? multipartError(err, uploadId);
  }
  return new Response(null, { status: 200, headers: { ETag: `"${part.etag}"` } });
}

/** CompleteMultipartUpload: POST /<bucket>/<key>?uploadId=X with the part list. */
export async function completeMultipartUpload(req: S3Request): Promise<Response> {
  const uploadId = uploadIdOf(req);
  // Here x-amz-checksum-* is the whole object's checksum, not the XML's; R2 cannot compute it for a
  // multipart object without reading it back, so it is not checked (each part's body was).
  const xml = await smallBody(req.request, req.auth, false);
  const parts: R2UploadedPart[] = xmlElements(xml, "Part").map((p) => {
    const number = Number(xmlText(p, "PartNumber"));
    const etag = xmlText(p, "ETag");
    if (!Number.isInteger(number) || etag === undefined) {
      throw new S3Error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.");
    }
    return { partNumber: number, etag: etag.trim().replace(/^"|"$/g, "") };
  });
  if (parts.length === 0) throw new S3Error(400, "MalformedXML", "You must specify at least one part");
  for (let i = 1; i < parts.length; i++) {
    if (parts[i]!.partNumber <= parts[i - 1]!.partNumber) {
      throw new S3Error(400, "InvalidPartOrder", "The list of parts was not in ascending order. The parts list must be specified in order by part number.");
    }
  }
  const upload = req.bucket.resumeMultipartUpload(req.key, uploadId);
  let obj: R2Object;
  try {
    obj = await upload.complete(parts);
  } catch (err) {
    throw multipartError(err, uploadId);
  }
  const url = new URL(req.request.url);
  return xmlResponse("CompleteMultipartUploadResult", [
    ["Location", `${url.origin}/${req.bucketName}/${uriEncode(req.key, true)}`],
    ["Bucket", req.bucketName],
    ["Key", req.key],
    ["ETag", obj.httpEtag],
  ]);
}

/** AbortMultipartUpload: DELETE /<bucket>/<key>?uploadId=X. */
export async function abortMultipartUpload(req: S3Request): Promise<Response> {
  const uploadId = uploadIdOf(req);
  try {
    await req.bucket.resumeMultipartUpload(req.key, uploadId).abort();
  } catch (err) {
    throw multipartError(err, uploadId);
  }
  return new Response(null, { status: 204 });
}
