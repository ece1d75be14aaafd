/**
 * The catalog's one error model. A closed set of codes (connect-es keeps its `Code` the same
 * way), one table that gives each its HTTP status and Iceberg error type, and one mapping from
 * the table model's domain errors (src/iceberg/metadata/errors.ts) into it. Every failure leaves
 * the catalog through errorToResponse (src/catalog/http.ts) as `{"error":{message,type,code}}`.
 */
import { BadRequestError, CommitFailedError } from "../iceberg/metadata/errors.js";
import { formatIdent, formatNamespace, type Namespace, type TableIdent } from "./names.js";

export { BadRequestError, CommitFailedError } from "../iceberg/metadata/errors.js";

/** The one table: each way a catalog request can fail → HTTP status and Iceberg error type (REST spec: ErrorModel). */
export const CATALOG_ERRORS = {
  "bad-request": { status: 400, type: "BadRequestException" },
  // A write the catalog refuses for good (e.g. an append to a CDC mirror table).
  forbidden: { status: 403, type: "ForbiddenException" },
  "no-such-warehouse": { status: 404, type: "NoSuchWarehouseException" },
  "no-such-namespace": { status: 404, type: "NoSuchNamespaceException" },
  "no-such-table": { status: 404, type: "NoSuchTableException" },
  "no-such-route": { status: 404, type: "NoSuchRouteException" },
  "method-not-allowed": { status: 405, type: "MethodNotAllowedException" },
  "already-exists": { status: 409, type: "AlreadyExistsException" },
  "namespace-not-empty": { status: 409, type: "NamespaceNotEmptyException" },
  // 409 on a commit: nothing was committed, the client reloads and retries (never 5xx: "state unknown").
  "commit-failed": { status: 409, type: "CommitFailedException" },
  "body-too-large": { status: 413, type: "BadRequestException" },
  unprocessable: { status: 422, type: "UnprocessableEntityException" },
  internal: { status: 500, type: "InternalServerError" },
  // 503: certainly not applied (e.g. R2 refused a write), safe to retry.
  unavailable: { status: 503, type: "ServiceUnavailableException" },
} as const satisfies Record<string, { status: number; type: string }>;

/** A code of the catalog's closed error set. */
export type CatalogErrorCode = keyof typeof CATALOG_ERRORS;

/** A catalog failure: a code of the table and a message for the client. */
export class CatalogError extends Error {
  constructor(
    readonly code: CatalogErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "CatalogError";
  }

  /** HTTP status of the code. */
  get status(): number {
    return CATALOG_ERRORS[this.code].status;
  }

  /** Iceberg error type of the code. */
  get type(): string {
    return CATALOG_ERRORS[this.code].type;
  }
}

/** The catalog error for a thrown value: CatalogErrors as they are, the model's domain errors by kind, else undefined (unexpected). */
export function catalogErrorOf(e: unknown): CatalogError | undefined {
  if (e instanceof CatalogError) return e;
  if (e instanceof CommitFailedError) return new CatalogError("commit-failed", e.message);
  if (e instanceof BadRequestError) return new CatalogError("bad-request", e.message);
  return undefined;
}

/** 404 NoSuchNamespaceException. */
export function noSuchNamespace(ns: Namespace): CatalogError {
  return new CatalogError("no-such-namespace", `Namespace does not exist: ${formatNamespace(ns)}`);
}

/** 404 NoSuchTableException. */
export function noSuchTable(ident: TableIdent): CatalogError {
  return new CatalogError("no-such-table", `Table does not exist: ${formatIdent(ident)}`);
}

/** 409 AlreadyExistsException for a namespace. */
export function namespaceExists(ns: Namespace): CatalogError {
  return new CatalogError("already-exists", `Namespace already exists: ${formatNamespace(ns)}`);
}

/** 409 AlreadyExistsException for a table. */
export function tableExists(ident: TableIdent): CatalogError {
  return new CatalogError("already-exists", `Table already exists: ${formatIdent(ident)}`);
}

/** 409 NamespaceNotEmptyException. */
export function namespaceNotEmpty(ns: Namespace, what: string): CatalogError {
  return new CatalogError("namespace-not-empty", `Namespace ${formatNamespace(ns)} is not empty: it contains ${what}`);
}

/** 503 ServiceUnavailableException: the commit certainly did not happen (e.g. R2 refused a write); safe to retry. */
export function storageUnavailable(message: string): CatalogError {
  return new CatalogError("unavailable", message);
}
