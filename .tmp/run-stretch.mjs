import { bundleTs } from "../bench/lib/build.mjs";
const f = await bundleTs(new URL("./stretch.ts", import.meta.url));
await import(`file://${f}`);
