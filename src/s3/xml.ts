/**
 * The S3 wire vocabulary: one error type carrying (status, code, message) and the one function
 * that writes S3's <Error> body, plus the small XML writer and reader the API needs.
 * Error codes and statuses: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
 */

/** The XML namespace of every S3 response document. */
export const S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/";

/** An S3 error: the status, the S3 error code and a message a client can read. */
export class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra child elements of <Error> (e.g. Key, BucketName, StringToSign). */
    readonly details: Record<string, string> = {},
    /** Extra response headers (e.g. Content-Range on 416). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** 403 AccessDenied. */
export function accessDenied(message = "Access Denied"): S3Error {
  return new S3Error(403, "AccessDenied", message);
}

/** 400 InvalidArgument naming the offending argument. */
export function invalidArgument(message: string, name?: string, value?: string): S3Error {
  const details: Record<string, string> = {};
  if (name !== undefined) details.ArgumentName = name;
  if (value !== undefined) details.ArgumentValue = value;
  return new S3Error(400, "InvalidArgument", message, details);
}

/** 404 NoSuchKey for a key. */
export function noSuchKey(key: string): S3Error {
  return new S3Error(404, "NoSuchKey", "The specified key does not exist.", { Key: key });
}

/** 501 NotImplemented for an operation this API does not serve. */
export function notImplemented(what: string): S3Error {
  return new S3Error(501, "NotImplemented", `${what} is not implemented by the DoLake S3 API`);
}

/** Escapes text for XML element content. */
export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!);
}

/** A child element value: text, a number/boolean, nested elements, or undefined (omitted). */
export type XmlValue = string | number | boolean | XmlNode | undefined;
/** Element children in document order; repeat an element by listing it again. */
export type XmlNode = [string, XmlValue][];

/** Serializes children in order; undefined values are omitted. */
function writeChildren(children: XmlNode): string {
  let out = "";
  for (const [name, value] of children) {
    if (value === undefined) continue;
    if (Array.isArray(value)) out += `<${name}>${writeChildren(value)}</${name}>`;
    else out += `<${name}>${escapeXml(String(value))}</${name}>`;
  }
  return out;
}

/** A complete XML document with the S3 namespace on its root. */
export function xmlDocument(root: string, children: XmlNode): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${S3_NS}">${writeChildren(children)}</${root}>`;
}

/** A 200 (or given status) response carrying an XML document. */
export function xmlResponse(root: string, children: XmlNode, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(xmlDocument(root, children), {
    status,
    headers: { "Content-Type": "application/xml", ...headers },
  });
}

/** The S3 <Error> response for an error; HEAD responses carry no body, as S3's do. */
export function errorResponse(err: S3Error, resource: string, requestId: string, method: string): Response {
  const children: XmlNode = [["Code", err.code], ["Message", err.message]];
  for (const [k, v] of Object.entries(err.details)) children.push([k, v]);
  children.push(["Resource", resource], ["RequestId", requestId]);
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${writeChildren(children)}</Error>`;
  const headers = { "Content-Type": "application/xml", "x-amz-request-id": requestId, ...err.headers };
  return new Response(method === "HEAD" ? null : body, { status: err.status, headers });
}

/** Decodes the five predefined XML entities and numeric character references. */
export function unescapeXml(value: string): string {
  return value.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e.startsWith("#x")) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith("#")) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return ({ amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }) [e as "amp"];
  });
}

/**
 * The inner texts of every <tag>...</tag> in a document fragment, in order. Enough for the flat
 * request bodies S3 clients send (Delete, CompleteMultipartUpload); not a general XML parser.
 */
export function xmlElements(xml: string, tag: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>|<${tag}(?:\\s[^>]*)?/>`, "g");
  for (let m = re.exec(xml); m; m = re.exec(xml)) out.push(m[1] ?? "");
  return out;
}

/** The decoded text of the first <tag> in a fragment, or undefined. */
export function xmlText(xml: string, tag: string): string | undefined {
  const [first] = xmlElements(xml, tag);
  return first === undefined ? undefined : unescapeXml(first);
}

/** S3's timestamp form in XML bodies: ISO 8601 with milliseconds. */
export function isoTime(date: Date): string {
  return date.toISOString();
}
