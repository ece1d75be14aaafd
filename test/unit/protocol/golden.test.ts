// Golden vectors (testdata/cdc/v1, testdata/subscribe/v1): each wire message as a .json (published JSON form) and a
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
import { decodeSubscribeClientFrame, decodeSubscribeServerFrame, encodeSubscribeClientMessage, encodeSubscribeServerMessage } from "../../../src/protocol/subscribe-frames.js";
import { parseJson } from "../../../src/util/json.js";

const update = process.env.UPDATE_GOLDEN === "1";

interface Codec {
  decode(frame: string | Uint8Array): unknown;
  encode(message: never, encoding: "binary" | "json"): string | Uint8Array;
}

const PROTOCOLS: Array<[string, Record<"client" | "server", Codec>]> = [
  ["cdc", {
    client: { decode: (f) => decodeClientFrame(f).message, encode: encodeClientMessage },
    server: { decode: decodeServerFrame, encode: encodeServerMessage },
  }],
  ["subscribe", {
    client: { decode: (f) => decodeSubscribeClientFrame(f).message, encode: encodeSubscribeClientMessage },
    server: { decode: decodeSubscribeServerFrame, encode: encodeSubscribeServerMessage },
  }],
];

describe.each(PROTOCOLS)("%s protocol", (protocol, codecs) => {
  const dir = join(__dirname, `../../../testdata/${protocol}/v1`);
  describe.each(["client", "server"] as const)("%s golden vectors", (side) => {
    const names = readdirSync(join(dir, side)).filter((f) => f.endsWith(".json")).map((f) => f.replace(/\.json$/, ""));
    const codec = codecs[side];
    it("exist", () => expect(names.length).toBeGreaterThan(4));
    it.each(names)("%s round-trips both ways", (name) => {
      const jsonText = readFileSync(join(dir, side, `${name}.json`), "utf8");
      const binPath = join(dir, side, `${name}.binpb`);
      const binary = codec.encode(codec.decode(jsonText) as never, "binary") as Uint8Array;
      if (update) writeFileSync(binPath, binary);
      const golden = new Uint8Array(readFileSync(binPath));
      expect(Buffer.from(binary).toString("hex")).toBe(Buffer.from(golden).toString("hex"));
      const json = codec.encode(codec.decode(golden) as never, "json");
      expect(parseJson(json as string)).toEqual(parseJson(jsonText));
    });
  });
});
