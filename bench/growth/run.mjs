// Growth bench (issue 9): the table's cost over its age, with and without maintenance.
//   node bench/growth/run.mjs [--flushes 1000] [--every 100] [--modes maintenance,none] [--step-kib N]
// Prints one Markdown table per mode (per checkpoint: median flush time of the last `every`
// flushes, metadata.json size, manifests in the current snapshot, live data/delete files,
// snapshots, pyiceberg and DuckDB full-scan time) and writes them to bench/growth/last-run.md.
// Python side from the project venv (bash scripts/python-env.sh).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleTs, machine, root } from "../lib/build.mjs";

const a = { flushes: "1000", every: "100", modes: "maintenance,none", "step-kib": "" };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const k = argv[i].replace(/^--/, "");
  if (!(k in a)) throw new Error(`unknown option --${k}`);
  a[k] = argv[++i];
}
const venv = spawnSync("bash", [join(root, "scripts/python-env.sh")], { cwd: root, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
const python = venv.stdout.trim().split("\n").pop();
const w = await import(`file://${await bundleTs(new URL("./growth.ts", import.meta.url))}`);
const out = [`Run: ${await machine()}; ${a.flushes} flushes, checkpoint every ${a.every}${a["step-kib"] ? `, maxBytesPerStep ${a["step-kib"]} KiB` : ""}`, ""];
for (const mode of a.modes.split(",")) {
  const dir = mkdtempSync(join(tmpdir(), `dolake-growth-${mode}-`));
  const lines = [`### ${mode}`, "", "| flushes | flush ms (median) | flush CPU ms (median) | metadata.json KB | manifests | data / delete files | snapshots | live rows | pyiceberg scan s | DuckDB scan s | compactions | step heap MB | changelog files / manifests / snapshots / metadata KB |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"];
  console.log(lines.join("\n"));
  await w.run(dir, Number(a.flushes), Number(a.every), mode === "maintenance", async (r) => {
    const scan = spawnSync(python, [join(root, "bench/growth/scan.py"), r.metadataPath], { encoding: "utf8" });
    if (scan.status !== 0) throw new Error(scan.stderr);
    const s = JSON.parse(scan.stdout);
    if (s.rows !== r.liveRows || s.duckdb_rows !== r.liveRows) throw new Error(`scan read ${s.rows}/${s.duckdb_rows} rows, expected ${r.liveRows}`);
    if (s.fingerprint !== r.fingerprint || s.duckdb_fingerprint !== r.fingerprint) throw new Error(`at ${r.flushes} flushes the readers' rows differ from the oracle's (pyiceberg ${s.fingerprint}, DuckDB ${s.duckdb_fingerprint}, oracle ${r.fingerprint})`);
    const line = `| ${r.flushes} | ${r.flushMsMedian.toFixed(1)} | ${r.flushCpuMsMedian.toFixed(1)} | ${(r.metadataBytes / 1024).toFixed(1)} | ${r.manifests} | ${r.dataFiles} / ${r.deleteFiles} | ${r.snapshots} | ${r.liveRows} | ${s.pyiceberg_s.toFixed(2)} | ${s.duckdb_s.toFixed(2)} | ${r.compactions} | ${r.compactionHeapMb.toFixed(1)} | ${r.changelogFiles} / ${r.changelogManifests} / ${r.changelogSnapshots} / ${(r.changelogMetadataBytes / 1024).toFixed(1)} |`;
    lines.push(line);
    console.log(line);
  }, a["step-kib"] ? Number(a["step-kib"]) * 1024 : undefined);
  out.push(...lines, "");
  rmSync(dir, { recursive: true, force: true });
}
writeFileSync(join(root, "bench/growth/last-run.md"), out.join("\n") + "\n");
