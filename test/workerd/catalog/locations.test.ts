// Issue 13 item 3: no client-supplied location or name becomes an R2 key outside the warehouse.
// Every refusal is a 400 BadRequestException (Iceberg error body), and nothing is written.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, makeTable, SCHEMA, uniqueName } from "./helpers.js";

const ROOT = "s3://dolake-warehouse/warehouse";

/** Locations inside the warehouse's root that are not plain paths. */
const HOSTILE = [
  `${ROOT}/ns/../../east/x`,
  `${ROOT}/../east/x`,
  `${ROOT}/./x`,
  `${ROOT}/a/./b`,
  `${ROOT}//x`,
  `${ROOT}/a//b`,
  `${ROOT}/a\u0000b`,
  `${ROOT}/a\nb`,
  `${ROOT}/a\u007fb`,
  `${ROOT}/a\\..\\b`,
  `${ROOT}/%2e%2e/east/x`,
  `${ROOT}/a/%2E/b`,
];

/** Expects the Iceberg error body of a 400 BadRequestException. */
function expectBadRequest(res: { status: number; body: { error?: { type?: string; code?: number } } }, what: string): void {
  expect(res.status, what).toBe(400);
  expect(res.body.error, what).toMatchObject({ type: "BadRequestException", code: 400 });
}

/** Every R2 key outside the prefixes tests may legitimately write. */
async function keysOutsideWarehouses(): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.LAKEHOUSE_BUCKET.list({ cursor });
    for (const o of page.objects) if (!/^(warehouse|east|west)\//.test(o.key) || /\/\.\.?\//.test(o.key)) out.push(o.key);
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return out;
}

describe("client-supplied locations", () => {
  it.each(HOSTILE)("refuses table creation at %j (create and stage-create)", async (location) => {
    const ns = uniqueName();
    await api("POST", "/v1/namespaces", { namespace: [ns] });
    for (const stage of [false, true]) {
      const res = await api("POST", `/v1/namespaces/${ns}/tables`, { name: "t", schema: SCHEMA, location, "stage-create": stage });
      expectBadRequest(res, `${location} stage=${stage}`);
    }
    expect((await api("GET", `/v1/namespaces/${ns}/tables`)).body.identifiers).toEqual([]);
    expect(await keysOutsideWarehouses()).toEqual([]);
  });

  it("refuses set-location to every hostile location, and the table keeps its own", async () => {
    const { path, created } = await makeTable();
    for (const location of HOSTILE) {
      const res = await api("POST", path, { requirements: [], updates: [{ action: "set-location", location }] });
      expectBadRequest(res, location);
    }
    expect((await api("GET", path)).body.metadata.location).toBe(created.body.metadata.location);
    expect(await keysOutsideWarehouses()).toEqual([]);
  });

  it("refuses register-table with a hostile metadata-location or a metadata file whose location is hostile", async () => {
    const { ns, created } = await makeTable();
    for (const location of HOSTILE) {
      const res = await api("POST", `/v1/namespaces/${ns}/register`, { name: "r", "metadata-location": `${location}/00000-x.metadata.json` });
      expectBadRequest(res, location);
    }
    // A metadata file inside the warehouse that claims a location with dot segments.
    const metadata = { ...created.body.metadata, location: `${ROOT}/${ns}/../../east/stolen` };
    const key = `warehouse/${ns}/planted/metadata/00000-planted.metadata.json`;
    await env.LAKEHOUSE_BUCKET.put(key, JSON.stringify(metadata));
    const res = await api("POST", `/v1/namespaces/${ns}/register`, { name: "r", "metadata-location": `s3://dolake-warehouse/${key}` });
    expectBadRequest(res, "planted metadata");
    expect((await api("GET", `/v1/namespaces/${ns}/tables/r`)).status).toBe(404);
  });

  it("refuses a namespace location property and hostile namespace or table names", async () => {
    const ns = uniqueName();
    expectBadRequest(await api("POST", "/v1/namespaces", { namespace: [ns], properties: { location: `${ROOT}/../east` } }), "namespace location");
    for (const level of ["..", ".", "a\u0000b", "a\u001fb", ""]) {
      expectBadRequest(await api("POST", "/v1/namespaces", { namespace: [level] }), `namespace ${JSON.stringify(level)}`);
    }
    await api("POST", "/v1/namespaces", { namespace: [ns] });
    for (const name of ["..", ".", "a\u0000b", "a\nb"]) {
      expectBadRequest(await api("POST", `/v1/namespaces/${ns}/tables`, { name, schema: SCHEMA }), `table ${JSON.stringify(name)}`);
    }
    // Names with '/' or '..' inside stay one path segment of the default location.
    const res = await api("POST", `/v1/namespaces/${ns}/tables`, { name: "../../east/x", schema: SCHEMA });
    expect(res.status).toBe(200);
    expect(res.body.metadata.location).toBe(`${ROOT}/${ns}/..%2F..%2Feast%2Fx`);
    expect(await keysOutsideWarehouses()).toEqual([]);
  });
});
