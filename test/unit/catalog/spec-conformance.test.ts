// Every catalog response, checked against the official Iceberg REST spec's schemas with ajv:
// the real handlers run in Node over node:sqlite and an in-memory bucket (harness.ts), a
// scenario touches every route and its error paths, and each response's status must be one the
// spec declares for that operation and its body must validate against that response's schema.
import { Ajv2020 } from "ajv/dist/2020.js";
import { beforeAll, describe, expect, it } from "vitest";
import { ROUTES } from "../../../src/catalog/index.js";
import { call, nodeCatalog } from "./harness.js";

type Spec = { paths: Record<string, Record<string, { responses: Record<string, unknown> }>>; components: { responses: Record<string, unknown> } };
let spec: Spec;
let ajv: Ajv2020;

beforeAll(async () => {
  const specModule = new URL("../../../scripts/iceberg-spec.mjs", import.meta.url).href;
  const { loadIcebergSpecText } = (await import(specModule)) as { loadIcebergSpecText: () => Promise<string> };
  // js-yaml ships no types; only load() is needed.
  const yaml = (await import("js-yaml" as string)) as { load(text: string): unknown };
  spec = yaml.load(await loadIcebergSpecText()) as Spec;
  ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  ajv.addSchema(spec as object, "spec");
});

/** The spec's path template of a request path (prefix-less form, as DoLake serves it). */
function specPath(method: string, path: string): string {
  const p = path.split("?")[0] as string;
  if (p === "/v1/config" || p === "/v1/oauth/tokens") return p;
  const segments = p.replace(/^\/v1\//, "").split("/");
  const route = ROUTES.find((r) => r.method === method && r.path.split("/").length === segments.length && r.path.split("/").every((s, i) => s.startsWith(":") || s === segments[i]));
  if (!route) throw new Error(`no route for ${method} ${p}`);
  return `/v1/{prefix}/${route.path.replace(/:(\w+)/g, "{$1}")}`;
}

const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll("~", "~0").replaceAll("/", "~1")).join("/");

/** Validates one response against the spec; returns the parsed body. */
async function check(method: string, path: string, res: Response): Promise<unknown> {
  const template = specPath(method, path);
  const op = spec.paths[template]?.[method.toLowerCase()];
  expect(op, `${method} ${template} is in the spec`).toBeDefined();
  const status = String(res.status);
  const key = [status, `${status[0]}XX`, "default"].find((k) => op!.responses[k] !== undefined);
  expect(key, `${method} ${path}: status ${status} is declared by the spec`).toBeDefined();
  let response = op!.responses[key!] as { $ref?: string; content?: Record<string, { schema: unknown }> };
  let responsePointer = `spec#/paths/${pointer(template, method.toLowerCase(), "responses", key!)}`;
  if (response.$ref) {
    responsePointer = `spec${response.$ref}`;
    response = spec.components.responses[response.$ref.split("/").pop() as string] as typeof response;
  }
  const text = await res.text();
  // HTTP forbids a body on HEAD responses, whatever the spec's error schema says.
  if (!response.content || method === "HEAD") {
    expect(text, `${method} ${path} ${status} has no body`).toBe("");
    return undefined;
  }
  const body = JSON.parse(text);
  const validate = ajv.compile({ $ref: `${responsePointer}/content/${pointer("application/json")}/schema` });
  const ok = validate(body);
  expect(ok ? [] : validate.errors, `${method} ${path} ${status}: ${text.slice(0, 300)}`).toEqual([]);
  return body;
}

describe("responses conform to the Iceberg REST spec", () => {
  it("covers every route and its errors", async () => {
    const ctx = nodeCatalog();
    const seen = new Set<string>();
    const send = async (method: string, path: string, body?: unknown, expected?: number, headers?: Record<string, string>) => {
      const res = await call(ctx, method, path, body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body), headers);
      if (expected !== undefined) expect(res.status, `${method} ${path}`).toBe(expected);
      seen.add(`${method} ${specPath(method, path)}`);
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      return check(method, path, res) as Promise<any>;
    };
    const schema = { type: "struct", "schema-id": 0, fields: [{ id: 1, name: "id", required: true, type: "long" }, { id: 2, name: "ts", required: false, type: "timestamp" }] };

    await send("GET", "/v1/config", undefined, 200);
    await send("GET", "/v1/config?warehouse=nope", undefined, 404);
    await send("POST", "/v1/oauth/tokens", "grant_type=client_credentials&client_id=a&client_secret=test-token", 200);
    await send("POST", "/v1/oauth/tokens", "grant_type=client_credentials&client_id=a&client_secret=bad", 401);
    await send("POST", "/v1/oauth/tokens", "grant_type=password", 400);

    await send("POST", "/v1/namespaces", { namespace: ["db"], properties: { owner: "me" } }, 200);
    await send("POST", "/v1/namespaces", { namespace: ["db"] }, 409);
    await send("POST", "/v1/namespaces", { namespace: ["a", ".."] }, 400);
    await send("POST", "/v1/namespaces", { namespace: ["db", "inner"] }, 200);
    await send("GET", "/v1/namespaces", undefined, 200);
    await send("GET", "/v1/namespaces?parent=db&pageSize=1", undefined, 200);
    await send("GET", "/v1/namespaces?parent=nope", undefined, 404);
    await send("GET", "/v1/namespaces/db", undefined, 200);
    await send("GET", "/v1/namespaces/nope", undefined, 404);
    await send("HEAD", "/v1/namespaces/db", undefined, 204);
    await send("HEAD", "/v1/namespaces/nope", undefined, 404);
    await send("POST", "/v1/namespaces/db/properties", { updates: { a: "1" }, removals: ["owner", "x"] }, 200);
    await send("POST", "/v1/namespaces/db/properties", { updates: { a: "1" }, removals: ["a"] }, 422);
    await send("POST", "/v1/namespaces/nope/properties", { updates: {} }, 404);

    const created = await send("POST", "/v1/namespaces/db/tables", { name: "t", schema, "partition-spec": { fields: [{ "source-id": 2, name: "d", transform: "day" }] } }, 200);
    await send("POST", "/v1/namespaces/db/tables", { name: "t", schema }, 409);
    await send("POST", "/v1/namespaces/nope/tables", { name: "t", schema }, 404);
    await send("POST", "/v1/namespaces/db/tables", { name: "bad", schema: { type: "list" } }, 400);
    await send("POST", "/v1/namespaces/db/tables", { name: "s", schema, "stage-create": true }, 200);
    await send("GET", "/v1/namespaces/db/tables?pageSize=10", undefined, 200);
    await send("GET", "/v1/namespaces/nope/tables", undefined, 404);
    await send("GET", "/v1/namespaces/db/tables/t", undefined, 200);
    await send("GET", "/v1/namespaces/db/tables/t?snapshots=refs", undefined, 200);
    await send("GET", "/v1/namespaces/db/tables/none", undefined, 404);
    await send("HEAD", "/v1/namespaces/db/tables/t", undefined, 204);
    await send("HEAD", "/v1/namespaces/db/tables/none", undefined, 404);

    const big = "9007199254740993";
    const add = `{"requirements":[{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":null}],"updates":[{"action":"add-snapshot","snapshot":{"snapshot-id":${big},"sequence-number":1,"timestamp-ms":1700000000000,"manifest-list":"${created.metadata.location}/metadata/snap.avro","summary":{"operation":"append"}}},{"action":"set-snapshot-ref","ref-name":"main","type":"branch","snapshot-id":${big}}]}`;
    await send("POST", "/v1/namespaces/db/tables/t", add, 200);
    await send("POST", "/v1/namespaces/db/tables/t", add, 409);
    await send("POST", "/v1/namespaces/db/tables/t", { requirements: [], updates: [{ action: "nope" }] }, 400);
    await send("POST", "/v1/namespaces/db/tables/none", { requirements: [], updates: [] }, 404);
    await send("POST", "/v1/namespaces/db/tables/t/metrics", { "report-type": "commit-report" }, 204);
    await send("POST", "/v1/namespaces/db/tables/none/metrics", { "report-type": "commit-report" }, 404);

    await send("POST", "/v1/transactions/commit", { "table-changes": [{ identifier: { namespace: ["db"], name: "t" }, requirements: [], updates: [{ action: "set-properties", updates: { k: "v" } }] }] }, 204);
    await send("POST", "/v1/transactions/commit", { "table-changes": [{ identifier: { namespace: ["db"], name: "t" }, requirements: [{ type: "assert-create" }], updates: [] }] }, 409);
    await send("POST", "/v1/transactions/commit", { "table-changes": [] }, 400);

    await send("POST", "/v1/tables/rename", { source: { namespace: ["db"], name: "t" }, destination: { namespace: ["db"], name: "u" } }, 204);
    await send("POST", "/v1/tables/rename", { source: { namespace: ["db"], name: "t" }, destination: { namespace: ["db"], name: "v" } }, 404);
    const loaded = await send("GET", "/v1/namespaces/db/tables/u", undefined, 200);
    await send("POST", "/v1/namespaces/db/register", { name: "r", "metadata-location": loaded["metadata-location"] }, 200);
    await send("POST", "/v1/namespaces/db/register", { name: "r", "metadata-location": loaded["metadata-location"] }, 409);
    await send("POST", "/v1/namespaces/nope/register", { name: "r", "metadata-location": loaded["metadata-location"] }, 404);

    await send("GET", "/v1/namespaces/db/tables/r/credentials", undefined, 200);
    await send("GET", "/v1/namespaces/db/tables/none/credentials", undefined, 404);
    await send("POST", "/v1/namespaces/db/register", { name: "r2", "metadata-location": loaded["metadata-location"] }, 200);
    await send("POST", "/v1/namespaces/db/tables/r2/unregister", undefined, 200);
    await send("POST", "/v1/namespaces/db/tables/r2/unregister", undefined, 404);
    await send("DELETE", "/v1/namespaces/db", undefined, 409);
    await send("DELETE", "/v1/namespaces/db/tables/r", undefined, 204);
    await send("DELETE", "/v1/namespaces/db/tables/u?purgeRequested=true", undefined, 204);
    await send("DELETE", "/v1/namespaces/db/tables/u", undefined, 404);
    await send("DELETE", "/v1/namespaces/db%1Finner", undefined, 204);
    await send("DELETE", "/v1/namespaces/db", undefined, 204);
    await send("DELETE", "/v1/namespaces/db", undefined, 404);

    const all = ROUTES.map((r) => `${r.method} ${r.path === "config" || r.path === "oauth/tokens" ? `/v1/${r.path}` : `/v1/{prefix}/${r.path.replace(/:(\w+)/g, "{$1}")}`}`);
    expect([...seen].sort()).toEqual(all.sort());
  });
});

describe("the spec validator itself", () => {
  it("rejects bodies the spec does not allow", () => {
    const error = ajv.compile({ $ref: "spec#/components/schemas/IcebergErrorResponse" });
    expect(error({ error: { message: "m", type: "T", code: 404 } })).toBe(true);
    expect(error({ error: { message: "m", type: "T" } })).toBe(false);
    const load = ajv.compile({ $ref: "spec#/components/schemas/LoadTableResult" });
    expect(load({ metadata: { "format-version": 2, "table-uuid": "u" } })).toBe(true);
    expect(load({ metadata: { "format-version": 9, "table-uuid": "u" } })).toBe(false);
  });
});
