// Shared by the catalog tests in workerd: requests go through the Worker (auth, routing to the
// DoLake Durable Object) exactly as an Iceberg client's would.
import { SELF } from "cloudflare:test";
import { parseJson } from "../../../src/util/json.js";
import { stringifyJson } from "../../../src/util/json.js";

/** A catalog response with its body parsed by the BigInt-safe codec. */
export interface ApiResponse {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** Sends one authenticated catalog request; `body` is JSON-encoded (bigint-safe). */
export async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
  const init: RequestInit = { method, headers: { Authorization: "Bearer test-token", ...headers } };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : stringifyJson(body);
    (init.headers as Record<string, string>)["Content-Type"] = "application/json";
  }
  const res = await SELF.fetch(`http://lake.test${path}`, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? parseJson(text) : undefined };
}

/** A namespace name unique to one test, so tests sharing a Durable Object do not collide. */
export function uniqueName(prefix = "ns"): string {
  return `${prefix}_${crypto.randomUUID().slice(0, 8)}`;
}

/** A small schema as clients send it. */
export const SCHEMA = {
  type: "struct",
  "schema-id": 0,
  fields: [
    { id: 1, name: "id", required: true, type: "long" },
    { id: 2, name: "data", required: false, type: "string" },
    { id: 3, name: "ts", required: false, type: "timestamptz" },
  ],
};

/** Creates a table (and its namespace unless it exists); returns the path of the table and the load result. */
export async function makeTable(ns = uniqueName(), table = "t"): Promise<{ ns: string; path: string; created: ApiResponse }> {
  const nsRes = await api("POST", "/v1/namespaces", { namespace: [ns], properties: {} });
  if (nsRes.status !== 200 && nsRes.status !== 409) throw new Error(`namespace create failed: ${nsRes.status}`);
  const created = await api("POST", `/v1/namespaces/${ns}/tables`, {
    name: table,
    schema: SCHEMA,
    "partition-spec": { "spec-id": 0, fields: [{ "source-id": 3, "field-id": 1000, name: "ts_day", transform: "day" }] },
  });
  if (created.status !== 200) throw new Error(`table create failed: ${created.status} ${JSON.stringify(created.body)}`);
  return { ns, path: `/v1/namespaces/${ns}/tables/${table}`, created };
}

/** The add-snapshot + set main updates of an append, as pyiceberg and Java send them. */
export function appendUpdates(snapshotId: bigint, sequence: bigint, parent?: bigint, location = "s3://dolake-warehouse/warehouse/x") {
  const snapshot: Record<string, unknown> = {
    "snapshot-id": snapshotId,
    "sequence-number": sequence,
    "timestamp-ms": 1_700_000_000_000n + sequence,
    "manifest-list": `${location}/metadata/snap-${snapshotId}.avro`,
    summary: { operation: "append" },
    "schema-id": 0,
  };
  if (parent !== undefined) snapshot["parent-snapshot-id"] = parent;
  return [
    { action: "add-snapshot", snapshot },
    { action: "set-snapshot-ref", "ref-name": "main", type: "branch", "snapshot-id": snapshotId },
  ];
}
