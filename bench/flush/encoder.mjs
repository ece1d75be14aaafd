// The Parquet encoders alone (bench/flush/encoder.ts): node bench/flush/encoder.mjs [--rows 100000]
import { bundleTs, machine } from "../lib/build.mjs";

const i = process.argv.indexOf("--rows");
const n = i > 0 ? Number(process.argv[i + 1]) : 100_000;
const { run } = await import(`file://${await bundleTs(new URL("./encoder.ts", import.meta.url))}`);
console.log(`# Parquet encoders, ${n} rows of bench/lib/workload.ts (10 columns), snappy, best of 5\n# ${await machine()}\n`);
console.log("| encoder | best ms | rows/s | output MiB |\n|---|---|---|---|");
for (const r of run(n)) console.log(`| ${r.encoder} | ${r.bestMs} | ${r.rowsPerSec.toLocaleString("en-US")} | ${r.mib} |`);
