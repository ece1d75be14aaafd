/**
 * The golden vectors (testdata/cdc/v1): the suite's own codec must reproduce every client vector
 * byte for byte and read every server vector, so a failure elsewhere is the server's, not ours.
 * Also the shapes answers are checked against (keys a JSON answer must carry).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Ctx } from "../context.js";
import { check, CheckFailure, expectMatch, type TestCase } from "../harness.js";
import { parseJson } from "../json.js";
import { clientFromBinary, clientToBinary, type Published, serverFromBinary, serverToBinary } from "../proto-json.js";

/** One vector: its name, JSON object and binary bytes. */
export interface Vector {
  name: string;
  json: Published;
  bin: Uint8Array;
}

/** Reads the vectors of a side ("client" or "server") of a protocol ("cdc" or "subscribe"). */
export function loadVectors(root: string, side: "client" | "server", protocol: "cdc" | "subscribe" = "cdc"): Vector[] {
  const dir = join(root, `testdata/${protocol}/v1`, side);
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => ({
      name: f.replace(/\.json$/, ""),
      json: parseJson(readFileSync(join(dir, f), "utf8")) as Published,
      bin: new Uint8Array(readFileSync(join(dir, f.replace(/\.json$/, ".binpb")))),
    }));
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** Fails unless a JSON answer has every key the golden vector of its kind has (recursively for objects). */
export function expectShape(answer: Record<string, unknown>, golden: Record<string, unknown>, what: string, optional: string[] = []): void {
  const missing: string[] = [];
  const walk = (a: unknown, g: unknown, path: string) => {
    if (g === null || typeof g !== "object" || Array.isArray(g)) return;
    for (const [k, v] of Object.entries(g)) {
      const p = path ? `${path}.${k}` : k;
      if (optional.includes(p)) continue;
      const av = (a as Record<string, unknown> | undefined)?.[k];
      if (av === undefined) missing.push(p);
      else walk(av, v, p);
    }
  };
  walk(answer, golden, "");
  if (missing.length) throw new CheckFailure(`${what}: missing keys the golden vector has: ${missing.join(", ")}`);
}

/** Golden-vector cases. */
export function goldenCases(): Array<TestCase<Ctx>> {
  return [
    {
      id: "wire.golden.client-encode",
      area: "wire",
      title: "suite codec: every client vector's JSON encodes to its .binpb byte for byte",
      async run(ctx) {
        const vs = loadVectors(ctx.opts.root, "client");
        check(vs.length > 0, "no client vectors found");
        for (const v of vs) check(hex(clientToBinary(v.json)) === hex(v.bin), `${v.name}: encoding differs\n    ours   ${hex(clientToBinary(v.json))}\n    golden ${hex(v.bin)}`);
        return `${vs.length} vectors`;
      },
    },
    {
      id: "wire.golden.client-decode",
      area: "wire",
      title: "suite codec: every client .binpb decodes to its JSON",
      async run(ctx) {
        for (const v of loadVectors(ctx.opts.root, "client")) expectMatch(clientFromBinary(v.bin), v.json, v.name);
      },
    },
    {
      id: "wire.golden.server",
      area: "wire",
      title: "suite codec: every server vector round-trips between .binpb and JSON",
      async run(ctx) {
        const vs = loadVectors(ctx.opts.root, "server");
        for (const v of vs) {
          expectMatch(serverFromBinary(v.bin), v.json, `${v.name} decode`);
          check(hex(serverToBinary(v.json)) === hex(v.bin), `${v.name}: encoding differs`);
        }
        return `${vs.length} vectors`;
      },
    },
  ];
}
