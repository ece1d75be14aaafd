// `node scripts/check-imports.mjs`: fails when src/ has an import cycle (type-only imports count)
// or an import that breaks the layer table (LAYER_RULES in scripts/import-graph.mjs).
// Part of `npm run lint` and so of `npm run check`.
import { join } from "node:path";
import { root } from "./iceberg-spec.mjs";
import { findCycle, LAYER_RULES, layerViolations, readGraph } from "./import-graph.mjs";

const graph = readGraph(join(root, "src"), root);
let failed = false;

const cycle = findCycle(graph);
if (cycle) {
  failed = true;
  console.error(`✗ import cycle in src/ (${cycle.length - 1} files):\n  ${cycle.join("\n  → ")}`);
}

const unknown = new Set();
for (const v of layerViolations(graph, LAYER_RULES)) {
  failed = true;
  if (v.unknown) {
    if (!unknown.has(v.fromArea)) console.error(`✗ src/${v.fromArea}: area "${v.fromArea}" is not in LAYER_RULES (scripts/import-graph.mjs): add it`);
    unknown.add(v.fromArea);
  } else console.error(`✗ ${v.from} imports ${v.to}: ${v.fromArea} may not import ${v.toArea} (LAYER_RULES in scripts/import-graph.mjs)`);
}

if (failed) process.exit(1);
const edges = [...graph.values()].reduce((n, t) => n + t.length, 0);
console.log(`imports: ${graph.size} files, ${edges} imports, no cycle, layers respected`);
