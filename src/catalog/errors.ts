/**
 * The catalog's error vocabulary: the REST spec's exception types as HttpErrors, so every
 * failure leaves through one writer (src/http/errors.ts) as `{"error":{message,type,code}}`.
 */
import { HttpError } from "../http/errors.js";
import { formatIdent, formatNamespace, type Namespace, type TableIdent } from "./names.js";

export { BadRequestError, CommitFailedError } from "../iceberg/metadata/errors.js";

/** 404 NoSuchNamespaceException. */
export function noSuchNamespace(ns: Namespace): HttpError {
  return new HttpError(404, "NoSuchNamespaceException", `Namespace does not exist: ${formatNamespace(ns)}`);
}

/** 404 NoSuchTableException. */
export function noSuchTable(ident: TableIdent): HttpError {
  return new HttpError(404, "NoSuchTableException", `Table does not exist: ${formatIdent(ident)}`);
}

/** 409 AlreadyExistsException for a namespace. */
export function namespaceExists(ns: Namespace): HttpError {
  return new HttpError(409, "AlreadyExistsException", `Namespace already exists: ${formatNamespace(ns)}`);
}

/** 409 AlreadyExistsException for a table. */
export function tableExists(ident: TableIdent): HttpError {
  return new HttpError(409, "AlreadyExistsException", `Table already exists: ${formatIdent(ident)}`);
}

/** 409 NamespaceNotEmptyException. */
export function namespaceNotEmpty(ns: Namespace, what: string): HttpError {
  return new HttpError(409, "NamespaceNotEmptyException", `Namespace ${formatNamespace(ns)} is not empty: it contains ${what}`);
}

/** 503 ServiceUnavailableException: the commit certainly did not happen (e.g. R2 refused a write); safe to retry. */
export function storageUnavailable(message: string): HttpError {
  return new HttpError(503, "ServiceUnavailableException", message);
}
