// Summarizes a V8 .cpuprofile (node --cpu-prof): self time by function and by source area.
import { readFileSync } from "node:fs";

/**
 * Module ranges of an esbuild bundle: esbuild writes `// <path>` before each module's code, so a
 * profile line number of the bundle maps back to its source module.
 */
export function bundleModules(bundlePath) {
  const lines = readFileSync(bundlePath, "utf8").split("\n");
  const starts = [];
  lines.forEach((l, i) => {
    const m = /^\/\/ (\S*?(?:node_modules|src|gen|bench)\/\S+\.(?:ts|js|mjs|cjs))$/.exec(l);
    if (m) {
      const nm = m[1].lastIndexOf("node_modules/");
      starts.push({ line: i, module: nm >= 0 ? m[1].slice(nm) : m[1].replace(/^(\.\.\/)+/, "") });
    }
  });
  return (line) => {
    let lo = 0, hi = starts.length - 1, found;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid].line <= line) { found = starts[mid]; lo = mid + 1; } else hi = mid - 1;
    }
    return found?.module;
  };
}

/** The area of a profile node: which part of the system its code belongs to. */
function area(url, name, line, moduleOf, bundleUrl) {
  if (!url) return name.startsWith("(") ? name : `native: ${name}`;
  if (moduleOf && bundleUrl && url.endsWith(bundleUrl)) {
    const mod = moduleOf(line);
    if (mod) url = mod;
  }
  if (url.includes("@bufbuild/protobuf")) return "protobuf runtime (@bufbuild/protobuf)";
  if (url.includes("hyparquet-writer")) return "hyparquet-writer (Parquet encode)";
  if (url.includes("hyparquet")) return "hyparquet";
  if (url.includes("fflate")) return "fflate";
  if (url.startsWith("node_modules/")) return url.replace(/^node_modules\/((?:@[^/]+\/)?[^/]+).*$/, "$1");
  const m = /(?:^|\/)(src|gen|bench)\/(.+?)(?:\?|$)/.exec(url);
  if (m) return `${m[1]}/${m[2]}`;
  if (url.startsWith("node:")) return url;
  return url.replace(/^.*\//, "");
}

/** Top `n` functions and areas by self time, with percentages of the sampled time. */
export function summarize(file, n = 20, bundlePath) {
  const moduleOf = bundlePath ? bundleModules(bundlePath) : undefined;
  const bundleUrl = bundlePath?.replace(/^.*\//, "");
  const p = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const self = new Map();
  const dt = p.timeDeltas;
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (dt[i] ?? 0));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fns = new Map();
  const areas = new Map();
  for (const [id, us] of self) {
    const node = byId.get(id);
    const cf = node.callFrame;
    // esbuild bundles: the source map names are not applied by V8, so the url is the bundle; keep the function name.
    const a = area(cf.url, cf.functionName, cf.lineNumber, moduleOf, bundleUrl);
    const fname = `${cf.functionName || "(anonymous)"} [${a}]`;
    fns.set(fname, (fns.get(fname) ?? 0) + us);
    areas.set(a, (areas.get(a) ?? 0) + us);
  }
  const top = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, us]) => ({ name: k, ms: +(us / 1000).toFixed(1), pct: +((us / total) * 100).toFixed(1) }));
  return { totalMs: +(total / 1000).toFixed(1), functions: top(fns), areas: top(areas) };
}
