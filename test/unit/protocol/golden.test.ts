// Golden vectors (testdata/cdc/v1): each wire message as a .json (published JSON form) and a
// .binpb (ClientMessage/ServerMessage binary) pair. Producers in any language test against the
// same files. Checked both ways: json -> binary == .binpb, and .binpb -> json == .json.
// Regenerate the .binpb files after a deliberate change: UPDATE_GOLDEN=1 npx vitest run --project unit golden
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  decodeClientFrame,
  decodeServerFrame,
  encodeClientMessage,
  encodeServerMessage,
} from "../../../src/protocol/frames.js";
import { parseJson } from "../../../src/util/json.js";

const dir = join(__dirname, "../../../testdata/cdc/v1");
const update = process.env.UPDATE_GOLDEN === "1";

function vectors(side: "client" | "server") {
  return readdirSync(join(dir, side))
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.replace(/\.json$/, ""));
}

describe.each(["client", "server"] as const)("%s golden vectors", (side) => {
  const names = vectors(side);
  it("exist", () => expect(names.length).toBeGreaterThan(4));
  it.each(names)("%s round-trips both ways", (name) => {
    const jsonText = readFileSync(join(dir, side, `${name}.json`), "utf8");
    const binPath = join(dir, side, `${name}.binpb`);
    const message = side === "client" ? decodeClientFrame(jsonText).message : decodeServerFrame(jsonText);
    const binary =
      side === "client" ? (encodeClientMessage(message as never, "binary") as Uint8Array) : (encodeServerMessage(message as never, "binary") as Uint8Array);
    if (update) writeFileSync(binPath, binary);
    const golden = new Uint8Array(readFileSync(binPath));
    expect(Buffer.from(binary).toString("hex")).toBe(Buffer.from(golden).toString("hex"));
    const back = side === "client" ? decodeClientFrame(golden).message : decodeServerFrame(golden);
    const json = side === "client" ? encodeClientMessage(back as never, "json") : encodeServerMessage(back as never, "json");
    expect(parseJson(json as string)).toEqual(parseJson(jsonText));
  });
});
