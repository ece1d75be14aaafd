// The longest synchronous stretches of a flush between its yields, in Node (bench/flush/stretches.ts).
//   node bench/flush/stretches.mjs [--rows 100000] [--step-mib 4]
import { bundleTs, machine } from "../lib/build.mjs";

const a = { rows: "100000", "step-mib": "4" };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const k = argv[i].replace(/^--/, "");
  if (!(k in a)) throw new Error(`unknown option --${k}`);
  a[k] = argv[i + 1];
}
process.setSourceMapsEnabled(true);
const w = await import(`file://${await bundleTs(new URL("./stretches.ts", import.meta.url))}`);
console.log(`# flush stretches ${new Date().toISOString()}\n# ${await machine()}\n# ${JSON.stringify(a)}`);
const batches = w.bufferedBatches(Number(a.rows), 1000);
const s = await w.measureStretches(batches, Number(a["step-mib"]) * 2 ** 20);
console.log("\n| stretch ending at | count | longest ms | mean ms |\n|---|---|---|---|");
for (const [label, x] of Object.entries(s).sort((p, q) => q[1].maxMs - p[1].maxMs)) console.log(`| ${label} | ${x.count} | ${x.maxMs.toFixed(1)} | ${(x.totalMs / x.count).toFixed(1)} |`);
