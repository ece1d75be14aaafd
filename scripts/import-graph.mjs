// The import graph of src/: every import, `import type`, `export ... from` and `import()` of a
// relative path, read with TypeScript's own pre-parser. Used by scripts/check-imports.mjs (part
// of `npm run lint` and `npm run check`) and unit-tested on fixtures in testdata/import-graph/.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";

/**
 * Which area of src/ may import which (an area is a folder of src/, or a file at its root by
 * its name; `gen` is the generated code beside src/). Arrows run one way:
 * worker → do → ingest/flush/catalog → iceberg/avro/parquet → util; protocol and gen are leaves
 * used by many. docs/architecture.md shows the same table. A new folder must be added here.
 */
export const LAYER_RULES = {
  index: ["worker", "do", "client", "config", "env", "protocol", "util", "gen"],
  worker: ["do", "query", "catalog", "s3", "http", "env", "version"],
  do: ["ingest", "flush", "catalog", "query", "subscribe", "buffer", "protocol", "http", "config", "env", "util", "gen"],
  // Change streams (the object's side): the log from the buffer and the changelog tables.
  subscribe: ["catalog", "buffer", "iceberg", "parquet", "protocol", "util", "gen"],
  // The query API (Worker side) and the consistent read the object answers (query-state.ts).
  query: ["catalog", "flush", "buffer", "iceberg", "parquet", "protocol", "http", "env", "util", "gen"],
  ingest: ["buffer", "iceberg", "protocol", "config", "util", "gen"],
  flush: ["catalog", "buffer", "iceberg", "avro", "parquet", "protocol", "config", "util", "gen"],
  catalog: ["iceberg", "s3", "http", "env", "util", "gen"],
  s3: ["http", "env"],
  client: ["protocol", "util", "gen"],
  // The CDC source library (runs in the user's object): do/ only for the warehouse header constant.
  source: ["do", "protocol", "util", "gen"],
  buffer: ["protocol", "util", "gen"],
  // The table-format layer: peers that may import each other (no file cycle, checked below).
  iceberg: ["avro", "parquet", "util"],
  parquet: ["iceberg", "util"],
  avro: ["util"],
  protocol: ["util", "gen"],
  http: [],
  config: ["iceberg", "util"],
  env: [],
  version: [],
  util: [],
  gen: [],
};

/** Every .ts file under `dir` (recursively), as absolute paths, sorted. */
export function sourceFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

/** The relative module specifiers a TypeScript source imports or re-exports (type-only ones too). */
export function specifiersOf(text) {
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((s) => s.startsWith("./") || s.startsWith("../"));
}

/** Resolves a relative specifier (`./x.js`, as Bundler resolution writes it) to the .ts file it names. */
function resolveSpecifier(from, spec) {
  const target = resolve(dirname(from), spec);
  return target.endsWith(".js") ? `${target.slice(0, -3)}.ts` : target.endsWith(".ts") ? target : `${target}.ts`;
}

/**
 * The import graph of the .ts files under `srcDir`: file (relative to `root`, `/`-separated) →
 * the files it imports (also relative; files outside srcDir, such as gen/, appear as targets).
 */
export function readGraph(srcDir, root = dirname(srcDir)) {
  const rel = (p) => relative(root, p).split(sep).join("/");
  const graph = new Map();
  for (const file of sourceFiles(srcDir)) {
    const targets = specifiersOf(readFileSync(file, "utf8")).map((s) => rel(resolveSpecifier(file, s)));
    graph.set(rel(file), [...new Set(targets)].sort());
  }
  return graph;
}

/**
 * One cycle of the graph as a list of files (the first repeated at the end), or undefined when
 * the graph is acyclic. Depth-first search in sorted order, so the answer is deterministic.
 */
export function findCycle(graph) {
  const state = new Map(); // file → "open" while on the DFS stack, "done" after
  const stack = [];
  const visit = (node) => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const s = state.get(next);
      if (s === "open") return [...stack.slice(stack.indexOf(next)), next];
      if (s === undefined) {
        const found = visit(next);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(node, "done");
    return undefined;
  };
  for (const node of [...graph.keys()].sort()) {
    if (state.has(node)) continue;
    const found = visit(node);
    if (found) return found;
  }
  return undefined;
}

/** The area of a file: its folder under src/, its name for a file at src/'s root, `gen` for gen/. */
export function areaOf(file, srcPrefix = "src/") {
  if (!file.startsWith(srcPrefix)) return file.split("/")[0];
  const rest = file.slice(srcPrefix.length).split("/");
  return rest.length === 1 ? rest[0].replace(/\.ts$/, "") : rest[0];
}

/** Imports that break the layer rules: `{ from, to, fromArea, toArea }`, plus areas the table does not list. */
export function layerViolations(graph, rules = LAYER_RULES, srcPrefix = "src/") {
  const out = [];
  for (const [from, targets] of graph) {
    const fromArea = areaOf(from, srcPrefix);
    for (const to of targets) {
      const toArea = areaOf(to, srcPrefix);
      if (fromArea === toArea) continue;
      const allowed = rules[fromArea];
      if (!allowed || !allowed.includes(toArea)) out.push({ from, to, fromArea, toArea, unknown: !allowed });
    }
  }
  return out;
}
