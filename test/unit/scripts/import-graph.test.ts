import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { areaOf, findCycle, LAYER_RULES, layerViolations, readGraph, specifiersOf } from "../../../scripts/import-graph.mjs";

const fixture = (name: string) => join(__dirname, "../../../testdata/import-graph", name);
const graphOf = (name: string) => readGraph(join(fixture(name), "src"), fixture(name));
const RULES = { high: ["low"], low: [] };

describe("import graph (scripts/check-imports.mjs)", () => {
  it("reads imports, type-only imports, re-exports and dynamic imports; ignores packages", () => {
    const text = [
      'import { a } from "./a.js";',
      'import type { B } from "../b.js";',
      'export { c } from "./c.js";',
      'export * from "./d.js";',
      'const e = await import("./e.js");',
      'import { DurableObject } from "cloudflare:workers";',
      'import ts from "typescript";',
    ].join("\n");
    expect(specifiersOf(text).sort()).toEqual(["../b.js", "./a.js", "./c.js", "./d.js", "./e.js"]);
  });

  it("finds no cycle in an acyclic fixture, and its layers hold", () => {
    const graph = graphOf("acyclic");
    expect(graph.get("src/high/top.ts")).toEqual(["src/low/base.ts"]);
    expect(findCycle(graph)).toBeUndefined();
    expect(layerViolations(graph, RULES)).toEqual([]);
  });

  it("finds a cycle that closes through an import type and a re-export", () => {
    expect(findCycle(graphOf("cycle-through-type-import"))).toEqual(["src/a/one.ts", "src/b/two.ts", "src/b/three.ts", "src/a/one.ts"]);
  });

  it("finds a cycle in a graph given directly, from any starting file", () => {
    const graph = new Map([
      ["x", ["y"]],
      ["y", ["z"]],
      ["z", ["y"]],
    ]);
    expect(findCycle(graph)).toEqual(["y", "z", "y"]);
    expect(findCycle(new Map([["self", ["self"]]]))).toEqual(["self", "self"]);
    expect(findCycle(new Map([["a", ["b", "c"]], ["b", ["c"]], ["c", []]]))).toBeUndefined();
  });

  it("reports an import against the layer table, and an area the table does not list", () => {
    const graph = graphOf("layer-upward-import");
    expect(findCycle(graph)).toBeUndefined();
    expect(layerViolations(graph, RULES)).toEqual([{ from: "src/low/base.ts", to: "src/high/top.ts", fromArea: "low", toArea: "high", unknown: false }]);
    expect(layerViolations(graph, { high: [] })).toEqual([{ from: "src/low/base.ts", to: "src/high/top.ts", fromArea: "low", toArea: "high", unknown: true }]);
  });

  it("names areas by folder, root files by name, gen as gen", () => {
    expect(areaOf("src/catalog/handlers/tables.ts")).toBe("catalog");
    expect(areaOf("src/worker.ts")).toBe("worker");
    expect(areaOf("gen/dolake/cdc/v1/cdc_pb.ts")).toBe("gen");
  });

  it("keeps storage below the Durable Object in the project's own table", () => {
    for (const area of ["flush", "catalog", "ingest", "buffer", "iceberg", "avro", "parquet", "util", "env"]) {
      expect(LAYER_RULES[area], area).not.toContain("do");
      expect(LAYER_RULES[area], area).not.toContain("worker");
    }
    expect(LAYER_RULES.iceberg).not.toContain("http");
    expect(LAYER_RULES.iceberg).not.toContain("catalog");
  });
});
