#!/usr/bin/env node
// dolake-conformance: the DoLake conformance suite, runnable against any deployment.
//   dolake-conformance [--url <base> --token <t>] [--area wire,durability,catalog,data] [--junit <file>] ...
//   dolake-conformance producer --port <n>     (plays the server for a third-party producer)
// Without --url (and without DOLAKE_URL) it starts a fresh local server (scripts/with-server.mjs).
// The suite is TypeScript (conformance/src); this bundles it with esbuild into conformance/dist/
// first, because Node cannot import the generated code's .js specifiers of .ts files directly.
import { build } from "esbuild";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outfile = join(root, "conformance/dist/main.mjs");
await build({
  entryPoints: [join(root, "conformance/src/main.ts")],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  outfile,
  packages: "external",
  sourcemap: "inline",
  logLevel: "warning",
});
const { main } = await import(pathToFileURL(outfile).href);
process.exitCode = await main(process.argv.slice(2), { root });
