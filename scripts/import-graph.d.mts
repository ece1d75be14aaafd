// Types of scripts/import-graph.mjs, for the tests that import it.
/** Which area of src/ may import which. */
export declare const LAYER_RULES: Record<string, string[]>;
/** Every .ts file under `dir`, sorted. */
export declare function sourceFiles(dir: string): string[];
/** The relative module specifiers a TypeScript source imports or re-exports. */
export declare function specifiersOf(text: string): string[];
/** File → the files it imports, relative to `root`. */
export declare function readGraph(srcDir: string, root?: string): Map<string, string[]>;
/** One cycle (first file repeated at the end), or undefined. */
export declare function findCycle(graph: Map<string, string[]>): string[] | undefined;
/** The area of a file. */
export declare function areaOf(file: string, srcPrefix?: string): string;
/** Imports that break the layer rules. */
export declare function layerViolations(
  graph: Map<string, string[]>,
  rules?: Record<string, string[]>,
  srcPrefix?: string,
): Array<{ from: string; to: string; fromArea: string; toArea: string; unknown: boolean }>;
