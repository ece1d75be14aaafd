// Locates the pinned Iceberg REST catalog spec (see openapi/iceberg-rest-catalog.pin.json)
// and returns its text after checking its sha256. Used by generation and by tests that
// validate responses against the official schemas.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const pin = JSON.parse(readFileSync(join(root, "openapi/iceberg-rest-catalog.pin.json"), "utf8"));

const sha256 = (text) => createHash("sha256").update(text).digest("hex");

/** Text of the pinned spec, verified against the pin's sha256. */
export async function loadIcebergSpecText() {
  const cache = join(root, ".tools/iceberg", `${pin.commit}.yaml`);
  const candidates = [process.env.ICEBERG_OPENAPI, join(root, "../shared/iceberg/rest-catalog-open-api.yaml"), cache];
  for (const file of candidates) {
    if (!file || !existsSync(file)) continue;
    const text = readFileSync(file, "utf8");
    if (sha256(text) !== pin.sha256) {
      throw new Error(`${file}: sha256 ${sha256(text)} does not match the pin ${pin.sha256}`);
    }
    return text;
  }
  const res = await fetch(pin.url);
  if (!res.ok) throw new Error(`download ${pin.url}: HTTP ${res.status}`);
  const text = await res.text();
  if (sha256(text) !== pin.sha256) throw new Error(`downloaded spec sha256 ${sha256(text)} does not match the pin`);
  mkdirSync(dirname(cache), { recursive: true });
  writeFileSync(cache, text);
  return text;
}
