// `npm run check`: every check in one command — generate-diff, lint (with the import-cycle and
// layer check), typecheck, tests.
import { run } from "./lib.mjs";

run("node", ["scripts/generate.mjs"]);
run("git", ["diff", "--exit-code", "--", "gen/"]);
run("node", ["scripts/lint.mjs"]);
run("tsc", ["-p", "tsconfig.json", "--noEmit"]);
run("node", ["scripts/test.mjs"]);
