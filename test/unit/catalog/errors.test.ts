import { describe, expect, it, vi } from "vitest";
import { BadRequestError, CATALOG_ERRORS, CatalogError, catalogErrorOf, CommitFailedError } from "../../../src/catalog/errors.js";
import { errorToResponse } from "../../../src/catalog/http.js";
import { checkArgument } from "../../../src/iceberg/metadata/errors.js";

const get = new Request("https://lake.example/v1/namespaces/a");
const head = new Request("https://lake.example/v1/namespaces/a", { method: "HEAD" });

describe("catalog error model (one table)", () => {
  it("writes every code of the table as the Iceberg error body with its status", async () => {
    for (const [code, { status, type }] of Object.entries(CATALOG_ERRORS)) {
      const r = errorToResponse(new CatalogError(code as keyof typeof CATALOG_ERRORS, `m-${code}`), get);
      expect(r.status, code).toBe(status);
      expect(await r.json(), code).toEqual({ error: { message: `m-${code}`, type, code: status } });
    }
  });

  it("maps the table model's domain errors, which carry no HTTP status of their own", async () => {
    const conflict = new CommitFailedError("Requirement failed: branch main has changed");
    const invalid = new BadRequestError("Unknown update action: x");
    expect("status" in conflict || "status" in invalid).toBe(false);
    expect(catalogErrorOf(conflict)?.code).toBe("commit-failed");
    expect(catalogErrorOf(invalid)?.code).toBe("bad-request");
    expect(() => checkArgument(false, "nope")).toThrow(BadRequestError);
    const r = errorToResponse(conflict, get, true);
    expect(r.status).toBe(409);
    expect(await r.json()).toEqual({ error: { message: conflict.message, type: "CommitFailedException", code: 409 } });
  });

  it("answers HEAD with the status and no body", async () => {
    const r = errorToResponse(new CatalogError("no-such-namespace", "gone"), head);
    expect(r.status).toBe(404);
    expect(await r.text()).toBe("");
  });

  it("answers an unexpected error 500 with an error id (503 on a commit route), never its message", async () => {
    const spy = vi.spyOn(console, "error").mockImplementation(() => undefined);
    try {
      const plain = errorToResponse(new Error("secret stack detail"), get);
      const body = (await plain.json()) as { error: { message: string; type: string; code: number } };
      expect(plain.status).toBe(500);
      expect(body.error.type).toBe("InternalServerError");
      expect(body.error.message).toMatch(/^Internal error \(error id [0-9a-f-]{36}\)$/);
      const commit = errorToResponse(new Error("secret stack detail"), get, true);
      expect(commit.status).toBe(503);
      expect(((await commit.json()) as { error: { type: string } }).error.type).toBe("ServiceUnavailableException");
      expect(catalogErrorOf(new Error("x"))).toBeUndefined();
    } finally {
      spy.mockRestore();
    }
  });
});
