// Bundles a bench's TypeScript entry (which imports src/ and gen/ with .js specifiers) with the
// esbuild that wrangler ships, into a temp folder outside the repo, and imports it.
//   const mod = await loadTs(new URL("./workload.ts", import.meta.url));
import { build } from "esbuild";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The repository root. */
export const root = fileURLToPath(new URL("../..", import.meta.url));

/** Bundles `entry` (a URL or path of a .ts file) to ESM for Node and returns the output path. */
export async function bundleTs(entry) {
  const file = entry instanceof URL ? fileURLToPath(entry) : entry;
  const outdir = join(tmpdir(), `dolake-bench-build-${process.pid}`);
  mkdirSync(outdir, { recursive: true });
  const outfile = join(outdir, basename(file).replace(/\.ts$/, ".mjs"));
  await build({
    entryPoints: [file],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    outfile,
    sourcemap: "inline",
    logLevel: "error",
    // No keepNames: its __name() wrappers run on every closure creation and distort profiles.
  });
  return outfile;
}

/** Bundles and imports a TypeScript module. */
export async function loadTs(entry) {
  return import(pathToFileURL(await bundleTs(entry)).href);
}

/** One line describing the machine, its load and the commit measured, for RESULTS.md. */
export async function machine() {
  const os = await import("node:os");
  const { execFileSync } = await import("node:child_process");
  let commit = "?";
  try {
    commit = execFileSync("git", ["-C", root, "rev-parse", "--short", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    if (execFileSync("git", ["-C", root, "status", "--porcelain", "--", "src", "gen"], { encoding: "utf8" }).trim()) commit += " (+ uncommitted changes in src/ or gen/)";
  } catch {
    // An exported snapshot (git archive) has no .git: the exporter writes the commit to COMMIT.
    try {
      commit = `${(await import("node:fs")).readFileSync(join(root, "COMMIT"), "utf8").trim().slice(0, 7)} (snapshot)`;
    } catch {}
  }
  const cpus = os.cpus();
  return `${cpus.length} x ${cpus[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node ${process.version}, loadavg ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}, commit ${commit}`;
}
