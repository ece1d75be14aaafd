/**
 * Structural mutations of JSON frames for fuzz tests: a value anywhere in a frame is replaced by a
 * hostile one (a wrong type, a huge or fractional number, deep nesting, a long string). Frames are
 * written as text so numbers a JS double cannot hold reach the server as typed.
 */

/** Marks text inserted verbatim (numbers beyond a double, deep nesting). */
const RAW = Symbol("raw");
type Raw = { [RAW]: string };
const raw = (text: string): Raw => ({ [RAW]: text });

/** Hostile values, each a common way a producer gets a field wrong. */
function hostile(rand: () => number): unknown {
  const depth = 1 + Math.floor(rand() * 20_000);
  const choices: Array<() => unknown> = [
    () => null,
    () => true,
    () => "",
    () => "x".repeat(Math.floor(rand() * 300)),
    () => -1,
    () => 0,
    () => 1.5,
    () => raw("1e400"),
    () => raw("-1e400"),
    () => raw("123456789012345678901234567890"),
    () => raw("-9223372036854775809"),
    () => raw("9223372036854775808"),
    () => raw("18446744073709551616"),
    () => raw("0.1234567890123456789012345"),
    () => raw("1e-400"),
    () => raw("4294967296"),
    () => raw("2.5e9"),
    () => [],
    () => [1, "a", null],
    () => ({}),
    () => ({ type: "cdc_batch" }),
    () => raw("[".repeat(depth) + "]".repeat(depth)),
    () => raw('{"a":'.repeat(depth) + "1" + "}".repeat(depth)),
    () => raw('{"a":['.repeat(Math.min(depth, 5000)) + "]}".repeat(Math.min(depth, 5000))),
    () => "\u{1F600}".repeat(50),
    () => "\u0000",
  ];
  return choices[Math.floor(rand() * choices.length)]!();
}

function isRaw(v: unknown): v is Raw {
  return typeof v === "object" && v !== null && RAW in v;
}

function write(v: unknown): string {
  if (isRaw(v)) return v[RAW];
  if (Array.isArray(v)) return `[${v.map(write).join(",")}]`;
  if (v !== null && typeof v === "object") return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${write(x)}`).join(",")}}`;
  return JSON.stringify(v);
}

/** Every path (list of keys/indices) to a value inside `v`, the root included. */
function paths(v: unknown, at: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v !== null && typeof v === "object" && !isRaw(v)) for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

/** A mutated copy of the JSON text `seed`: 1-3 values replaced (or keys added) with hostile ones. */
export function mutateJsonFrame(seed: string, rand: () => number): string {
  let doc: unknown = JSON.parse(seed);
  const n = 1 + Math.floor(rand() * 3);
  for (let k = 0; k < n; k++) {
    const all = paths(doc);
    const path = all[Math.floor(rand() * all.length)]!;
    const value = hostile(rand);
    if (path.length === 0) {
      if (rand() < 0.2) doc = value;
      continue;
    }
    let parent = doc as Record<string | number, unknown>;
    for (const p of path.slice(0, -1)) parent = parent[p] as Record<string | number, unknown>;
    if (rand() < 0.15 && !Array.isArray(parent)) parent[`extra${k}`] = value;
    else parent[path[path.length - 1]!] = value;
  }
  return write(doc);
}
