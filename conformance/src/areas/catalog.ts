/**
 * Area 3, the Iceberg REST catalog over HTTP: every endpoint /v1/config advertises is exercised,
 * every response is validated against the official spec (pinned, loaded via
 * scripts/iceberg-spec.mjs) with ajv, every error body is {"error":{"message","type","code"}},
 * and failed commit requirements are 409 CommitFailedException.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import { type Ctx, type HttpAnswer, insertBatch } from "../context.js";
import { check, CheckFailure, expectMatch, is, type TestCase } from "../harness.js";

type Op = { responses: Record<string, { $ref?: string; content?: Record<string, unknown> }> };
type Spec = { paths: Record<string, Record<string, Op>>; components: { responses: Record<string, { content?: Record<string, unknown> }> } };

/** The pinned spec and a validator over it, loaded once. */
class SpecValidator {
  private readonly cache = new Map<string, ValidateFunction>();
  /** Endpoint templates ("GET /v1/{prefix}/namespaces") the run touched. */
  readonly seen = new Set<string>();
  private constructor(
    readonly spec: Spec,
    private readonly ajv: Ajv2020,
  ) {}

  static async load(root: string): Promise<SpecValidator> {
    const { loadIcebergSpecText } = (await import(pathToFileURL(join(root, "scripts/iceberg-spec.mjs")).href)) as { loadIcebergSpecText(): Promise<string> };
    const yaml = (await import("js-yaml" as string)) as { load(text: string): unknown };
    const spec = yaml.load(await loadIcebergSpecText()) as Spec;
    const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
    ajv.addSchema(spec as object, "spec");
    return new SpecValidator(spec, ajv);
  }

  /** The spec's path template of a concrete path ("/v1/namespaces/db" -> "/v1/{prefix}/namespaces/{namespace}"). */
  template(method: string, path: string, prefix: string): string {
    const p = path.split("?")[0]!;
    const rest = p.replace(/^\/v1\//, "").replace(prefix ? new RegExp(`^${prefix}/`) : /^/, "");
    const segs = rest.split("/");
    let best: { t: string; literal: number } | undefined;
    for (const t of Object.keys(this.spec.paths)) {
      if (!this.spec.paths[t]![method.toLowerCase()]) continue;
      const ts = t.replace(/^\/v1\//, "").replace(/^\{prefix\}\//, "").split("/");
      if (t === p) return t;
      if (!t.includes("{prefix}") || ts.length !== segs.length) continue;
      if (!ts.every((s, i) => s.startsWith("{") || s === segs[i])) continue;
      const literal = ts.filter((s) => !s.startsWith("{")).length;
      if (!best || literal > best.literal) best = { t, literal };
    }
    if (!best) throw new CheckFailure(`${method} ${p} is not an operation of the Iceberg REST spec`);
    return best.t;
  }

  /** Checks a response: its status is declared for the operation and its body validates. */
  validate(method: string, path: string, prefix: string, res: HttpAnswer): void {
    const template = this.template(method, path, prefix);
    this.seen.add(`${method} ${template}`);
    const op = this.spec.paths[template]![method.toLowerCase()]!;
    const status = String(res.status);
    const key = [status, `${status[0]}XX`, "default"].find((k) => op.responses[k] !== undefined);
    if (!key) throw new CheckFailure(`${method} ${path}: status ${status} is not declared by the spec (declared: ${Object.keys(op.responses).join(", ")})`);
    let response = op.responses[key]!;
    let pointer = `spec#/paths/${[template, method.toLowerCase(), "responses", key].map((s) => s.replaceAll("~", "~0").replaceAll("/", "~1")).join("/")}`;
    if (response.$ref) {
      pointer = `spec${response.$ref}`;
      response = this.spec.components.responses[response.$ref.split("/").pop()!]!;
    }
    if (method === "HEAD") {
      check(res.text === "", `${method} ${path} ${status}: HEAD answers carry no body`);
      return;
    }
    if (!response.content) {
      check(res.text === "", `${method} ${path} ${status}: the spec declares no body, got ${res.text.slice(0, 200)}`);
      return;
    }
    const ref = `${pointer}/content/application~1json/schema`;
    let v = this.cache.get(ref);
    if (!v) this.cache.set(ref, (v = this.ajv.compile({ $ref: ref })));
    check(res.json !== undefined, `${method} ${path} ${status}: body is not JSON: ${res.text.slice(0, 200)}`);
    // ajv checks JSON types: give it plain numbers (64-bit ids exact or not, they are integers).
    const body = JSON.parse(res.text) as unknown;
    if (!v(body)) throw new CheckFailure(`${method} ${path} ${status}: body does not match the spec: ${this.ajv.errorsText(v.errors)}\n    body: ${res.text.slice(0, 400)}`);
    // OAuth token errors have their own shape (OAuthError), checked by the schema above.
    if (res.status >= 400 && !path.startsWith("/v1/oauth")) expectMatch(res.json, { error: { message: is.string, type: is.nonEmpty, code: res.status } }, `${method} ${path} error body`);
  }
}

/** Per-run catalog state shared by the cases. */
interface CatalogRun {
  spec: SpecValidator;
  prefix: string;
  advertised: string[];
  ns: string;
}

async function state(ctx: Ctx): Promise<CatalogRun> {
  let s = ctx.shared.get("catalog") as CatalogRun | undefined;
  if (!s) {
    const spec = await SpecValidator.load(ctx.opts.root);
    const cfg = await ctx.http("GET", "/v1/config");
    const prefix = String(cfg.json?.overrides?.prefix ?? cfg.json?.defaults?.prefix ?? (ctx.caps.catalog as { prefix?: string })?.prefix ?? "");
    s = { spec, prefix, advertised: (cfg.json?.endpoints as string[]) ?? [], ns: `conf_${ctx.runId}` };
    ctx.shared.set("catalog", s);
  }
  return s;
}

/** Sends a catalog request, checks the expected status and validates the response against the spec. */
async function call(ctx: Ctx, method: string, path: string, body: unknown, expected: number, opts: { auth?: boolean } = {}): Promise<HttpAnswer> {
  const s = await state(ctx);
  const full = path.startsWith("/v1/config") || path.startsWith("/v1/oauth") ? path : `/v1/${s.prefix ? `${s.prefix}/` : ""}${path.replace(/^\//, "")}`;
  const res = await ctx.http(method, full, body, opts);
  check(res.status === expected, `${method} ${full}: expected HTTP ${expected}, got ${res.status} ${res.text.slice(0, 300)}`);
  s.spec.validate(method, full, s.prefix, res);
  return res;
}

const schema = { type: "struct", "schema-id": 0, fields: [{ id: 1, name: "id", required: true, type: "long" }, { id: 2, name: "ts", required: false, type: "timestamp" }] };

/** The catalog cases, in order (later ones use what earlier ones created). */
export function catalogCases(): Array<TestCase<Ctx>> {
  const c = (id: string, title: string, run: (ctx: Ctx, s: CatalogRun) => Promise<string | void>, requires?: string[]): TestCase<Ctx> => ({
    id: `catalog.${id}`,
    area: "catalog",
    title,
    ...(requires ? { requires } : {}),
    run: async (ctx) => run(ctx, await state(ctx)),
  });
  return [
    c("config", "GET /v1/config validates; every advertised endpoint is an operation of the spec", async (ctx, s) => {
      const res = await call(ctx, "GET", "/v1/config", undefined, 200);
      check(s.advertised.length > 0, "/v1/config advertises no endpoints");
      for (const e of s.advertised) {
        const [method, template] = e.split(" ");
        check(s.spec.spec.paths[template!]?.[method!.toLowerCase()], `advertised endpoint ${e} is not in the spec`);
      }
      return `${s.advertised.length} endpoints advertised; config keys ${Object.keys(res.json.overrides ?? {}).join(", ")}`;
    }),
    c("auth", "a request without the token is 401 with an Iceberg error body", async (ctx) => {
      await call(ctx, "GET", "/v1/config", undefined, 401, { auth: false });
      await call(ctx, "GET", "namespaces", undefined, 401, { auth: false });
    }),
    c(
      "oauth",
      "OAuth2 client credentials: the token as client_secret gets an access token that works; a wrong secret is 401",
      async (ctx) => {
        const ok = await call(ctx, "POST", "/v1/oauth/tokens", `grant_type=client_credentials&client_id=conformance&client_secret=${encodeURIComponent(ctx.target.token)}`, 200);
        await call(ctx, "POST", "/v1/oauth/tokens", "grant_type=client_credentials&client_id=conformance&client_secret=wrong", 401);
        const res = await fetch(`${ctx.target.url}/v1/config`, { headers: { Authorization: `Bearer ${ok.json.access_token}` } });
        check(res.status === 200, `/v1/config with the OAuth access token: HTTP ${res.status}`);
      },
      ["catalog.oauth"],
    ),
    c("namespaces", "namespaces: create, conflict, get, head, list, properties, not-found errors", async (ctx, s) => {
      await call(ctx, "POST", "namespaces", { namespace: [s.ns], properties: { owner: "conformance" } }, 200);
      await call(ctx, "POST", "namespaces", { namespace: [s.ns] }, 409);
      await call(ctx, "POST", "namespaces", { namespace: [s.ns, "inner"] }, 200);
      const list = await call(ctx, "GET", "namespaces", undefined, 200);
      check((list.json.namespaces as string[][]).some((n) => n.length === 1 && n[0] === s.ns), `GET namespaces lacks ${s.ns}`);
      await call(ctx, "GET", `namespaces?parent=${s.ns}`, undefined, 200);
      const got = await call(ctx, "GET", `namespaces/${s.ns}`, undefined, 200);
      expectMatch(got.json, { namespace: [s.ns], properties: { owner: "conformance" } }, "namespace");
      await call(ctx, "GET", `namespaces/${s.ns}_missing`, undefined, 404);
      await call(ctx, "HEAD", `namespaces/${s.ns}`, undefined, 204);
      await call(ctx, "HEAD", `namespaces/${s.ns}_missing`, undefined, 404);
      const props = await call(ctx, "POST", `namespaces/${s.ns}/properties`, { updates: { a: "1" }, removals: ["owner", "never-set"] }, 200);
      expectMatch(props.json, { updated: ["a"], removed: ["owner"], missing: ["never-set"] }, "property update result");
      await call(ctx, "POST", `namespaces/${s.ns}_missing/properties`, { updates: {} }, 404);
    }),
    c("tables", "tables: create, conflict, list, load, head, not-found errors", async (ctx, s) => {
      const created = await call(ctx, "POST", `namespaces/${s.ns}/tables`, { name: "t", schema }, 200);
      check(typeof created.json["metadata-location"] === "string", "LoadTableResult without metadata-location");
      await call(ctx, "POST", `namespaces/${s.ns}/tables`, { name: "t", schema }, 409);
      await call(ctx, "POST", `namespaces/${s.ns}_missing/tables`, { name: "t", schema }, 404);
      const list = await call(ctx, "GET", `namespaces/${s.ns}/tables`, undefined, 200);
      expectMatch(list.json.identifiers, [{ namespace: [s.ns], name: "t" }], "table list");
      await call(ctx, "GET", `namespaces/${s.ns}/tables/t`, undefined, 200);
      await call(ctx, "GET", `namespaces/${s.ns}/tables/none`, undefined, 404);
      await call(ctx, "HEAD", `namespaces/${s.ns}/tables/t`, undefined, 204);
      await call(ctx, "HEAD", `namespaces/${s.ns}/tables/none`, undefined, 404);
    }),
    c("commit", "table commits: requirements hold -> 200; a failed requirement -> 409 CommitFailedException and nothing applied", async (ctx, s) => {
      const t = await call(ctx, "GET", `namespaces/${s.ns}/tables/t`, undefined, 200);
      const uuid = t.json.metadata["table-uuid"] as string;
      const ok = await call(ctx, "POST", `namespaces/${s.ns}/tables/t`, { requirements: [{ type: "assert-table-uuid", uuid }], updates: [{ action: "set-properties", updates: { k: "v1" } }] }, 200);
      expectMatch(ok.json.metadata.properties, { k: "v1" }, "properties after commit");
      const wrong = await call(ctx, "POST", `namespaces/${s.ns}/tables/t`, { requirements: [{ type: "assert-table-uuid", uuid: "00000000-0000-0000-0000-000000000000" }], updates: [{ action: "set-properties", updates: { k: "v2" } }] }, 409);
      expectMatch(wrong.json.error, { type: "CommitFailedException" }, "409 type");
      await call(ctx, "POST", `namespaces/${s.ns}/tables/t`, { requirements: [{ type: "assert-current-schema-id", "current-schema-id": 77 }], updates: [{ action: "set-properties", updates: { k: "v3" } }] }, 409);
      const after = await call(ctx, "GET", `namespaces/${s.ns}/tables/t`, undefined, 200);
      expectMatch(after.json.metadata.properties, { k: "v1" }, "properties after the refused commits");
      const big = "9007199254740993";
      const add = `{"requirements":[{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":null}],"updates":[{"action":"add-snapshot","snapshot":{"snapshot-id":${big},"sequence-number":1,"timestamp-ms":1700000000000,"manifest-list":"${t.json.metadata.location}/metadata/snap-conformance.avro","summary":{"operation":"append"}}},{"action":"set-snapshot-ref","ref-name":"main","type":"branch","snapshot-id":${big}}]}`;
      const added = await call(ctx, "POST", `namespaces/${s.ns}/tables/t`, add, 200);
      check(/"current-snapshot-id"\s*:\s*9007199254740993\b/.test(added.text), "a snapshot id above 2^53 did not come back exact");
      await call(ctx, "POST", `namespaces/${s.ns}/tables/t`, add, 409);
      await call(ctx, "POST", `namespaces/${s.ns}/tables/t`, { requirements: [], updates: [{ action: "no-such-update" }] }, 400);
      await call(ctx, "POST", `namespaces/${s.ns}/tables/none`, { requirements: [], updates: [] }, 404);
    }),
    c("transactions", "multi-table transactions: all-or-nothing, 409 on a failed requirement", async (ctx, s) => {
      await call(ctx, "POST", `namespaces/${s.ns}/tables`, { name: "t2", schema }, 200);
      const id = (name: string) => ({ namespace: [s.ns], name });
      await call(ctx, "POST", "transactions/commit", { "table-changes": [
        { identifier: id("t"), requirements: [], updates: [{ action: "set-properties", updates: { tx: "1" } }] },
        { identifier: id("t2"), requirements: [], updates: [{ action: "set-properties", updates: { tx: "1" } }] },
      ] }, 204);
      await call(ctx, "POST", "transactions/commit", { "table-changes": [
        { identifier: id("t"), requirements: [], updates: [{ action: "set-properties", updates: { tx: "2" } }] },
        { identifier: id("t2"), requirements: [{ type: "assert-create" }], updates: [] },
      ] }, 409);
      const t = await call(ctx, "GET", `namespaces/${s.ns}/tables/t`, undefined, 200);
      expectMatch(t.json.metadata.properties, { tx: "1" }, "t after the refused transaction (nothing applied)");
    }),
    c("metrics-credentials", "metrics reports are accepted; per-table credentials validate", async (ctx, s) => {
      await call(ctx, "POST", `namespaces/${s.ns}/tables/t/metrics`, { "report-type": "commit-report", "table-name": `${s.ns}.t`, "snapshot-id": 1, "sequence-number": 1, operation: "append", metrics: {} }, 204);
      await call(ctx, "POST", `namespaces/${s.ns}/tables/none/metrics`, { "report-type": "commit-report" }, 404);
      if (s.advertised.some((e) => e.endsWith("/credentials"))) {
        await call(ctx, "GET", `namespaces/${s.ns}/tables/t/credentials`, undefined, 200);
        await call(ctx, "GET", `namespaces/${s.ns}/tables/none/credentials`, undefined, 404);
      }
    }),
    c("rename-register", "rename, register an existing metadata file, unregister; conflicts and not-found", async (ctx, s) => {
      const src = { namespace: [s.ns], name: "t2" };
      await call(ctx, "POST", "tables/rename", { source: src, destination: { namespace: [s.ns], name: "t3" } }, 204);
      await call(ctx, "POST", "tables/rename", { source: src, destination: { namespace: [s.ns], name: "t4" } }, 404);
      await call(ctx, "GET", `namespaces/${s.ns}/tables/t2`, undefined, 404);
      const loaded = await call(ctx, "GET", `namespaces/${s.ns}/tables/t3`, undefined, 200);
      const location = loaded.json["metadata-location"];
      await call(ctx, "POST", `namespaces/${s.ns}/register`, { name: "r", "metadata-location": location }, 200);
      await call(ctx, "POST", `namespaces/${s.ns}/register`, { name: "r", "metadata-location": location }, 409);
      await call(ctx, "POST", `namespaces/${s.ns}_missing/register`, { name: "r", "metadata-location": location }, 404);
      if (s.advertised.some((e) => e.endsWith("/unregister"))) {
        await call(ctx, "POST", `namespaces/${s.ns}/tables/r/unregister`, undefined, 200);
        await call(ctx, "POST", `namespaces/${s.ns}/tables/r/unregister`, undefined, 404);
      } else await call(ctx, "DELETE", `namespaces/${s.ns}/tables/r`, undefined, 204);
    }),
    c("drop", "drop tables and namespaces: a non-empty namespace is 409, a dropped one 404", async (ctx, s) => {
      await call(ctx, "DELETE", `namespaces/${s.ns}`, undefined, 409);
      await call(ctx, "DELETE", `namespaces/${s.ns}/tables/t`, undefined, 204);
      await call(ctx, "DELETE", `namespaces/${s.ns}/tables/t3?purgeRequested=true`, undefined, 204);
      await call(ctx, "DELETE", `namespaces/${s.ns}/tables/t`, undefined, 404);
      await call(ctx, "DELETE", `namespaces/${s.ns}%1Finner`, undefined, 204);
      await call(ctx, "DELETE", `namespaces/${s.ns}`, undefined, 204);
      await call(ctx, "DELETE", `namespaces/${s.ns}`, undefined, 404);
    }),
    c("coverage", "every endpoint /v1/config advertises was exercised and validated", async (_ctx, s) => {
      const missing = s.advertised.filter((e) => !s.spec.seen.has(e));
      check(missing.length === 0, `advertised but not exercised: ${missing.join(", ")}`);
      return `${s.spec.seen.size} operations validated`;
    }),
    c("vended-storage", "/v1/config or LoadTableResult.config vends S3 settings (endpoint, keys, path style) for a CDC table", async (ctx) => {
      const source = ctx.source("catalog-cdc");
      const { s: socket } = await ctx.connect("json", source);
      await socket.ask(insertBatch(source, 1, 1, 1, ctx.table("catalog_cdc")));
      expectMatch(await socket.ask({ type: "flush_request", correlationId: "cat" }, 60_000), { type: "flush_result", ok: true }, "flush");
      const cfg = await ctx.http("GET", "/v1/config");
      const tables = await call(ctx, "GET", `namespaces/${ctx.cdcNamespace}/tables`, undefined, 200);
      const first = (tables.json.identifiers as Array<{ name: string }>)[0];
      const load = first ? await call(ctx, "GET", `namespaces/${ctx.cdcNamespace}/tables/${first.name}`, undefined, 200) : undefined;
      const settings = { ...(cfg.json.defaults ?? {}), ...(cfg.json.overrides ?? {}), ...(load?.json.config ?? {}) };
      for (const k of ["s3.endpoint", "s3.access-key-id", "s3.secret-access-key"]) check(typeof settings[k] === "string", `no ${k} vended`);
      check(/^s3:\/\//.test(String(load?.json.metadata.location ?? "s3://")), `table location ${load?.json.metadata.location} is not s3://`);
    }, ["catalog.vendedS3"]),
  ];
}
