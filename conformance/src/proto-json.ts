/**
 * The published JSON form of the CDC protocol <-> protobuf messages, written for the suite from
 * the contract (proto/dolake/cdc/v1, via the generated descriptors) and not from the server's
 * codec: the golden vectors check this file, and this file then checks the server.
 */
import { create, type DescEnum, type DescMessage, fromBinary, getOption, hasOption, type Message, ScalarType, toBinary } from "@bufbuild/protobuf";
import { ClientMessageSchema, ServerMessageSchema } from "../../gen/dolake/cdc/v1/cdc_pb.js";
import { SubscribeClientMessageSchema, SubscribeServerMessageSchema } from "../../gen/dolake/subscribe/v1/subscribe_pb.js";
import { json_type, json_value } from "../../gen/dolake/cdc/v1/options_pb.js";
import { type Json, parseJson, stringifyJson } from "./json.js";

/** A message in its published JSON form: {"type": ..., ...fields}. */
export type Published = { type: string; [key: string]: Json | undefined };

const INT64 = new Set([ScalarType.INT64, ScalarType.SINT64, ScalarType.SFIXED64, ScalarType.UINT64, ScalarType.FIXED64]);

function enumFromJson(desc: DescEnum, v: unknown, path: string): number {
  if (typeof v === "number") return v;
  for (const value of desc.values) {
    if (value.name === v || (hasOption(value, json_value) && getOption(value, json_value) === v)) return value.number;
  }
  throw new Error(`${path}: ${JSON.stringify(v)} is not a ${desc.typeName}`);
}

function enumToJson(desc: DescEnum, n: number): string | undefined {
  const value = desc.values.find((x) => x.number === n);
  if (!value || n === 0) return undefined;
  return hasOption(value, json_value) ? getOption(value, json_value) : value.name;
}

/** A plain JSON value as a dolake.cdc.v1.Value init object. */
function valueFromPlain(v: Json): object {
  if (v === null) return { kind: { case: "nullValue", value: 0 } };
  if (typeof v === "boolean") return { kind: { case: "boolValue", value: v } };
  if (typeof v === "bigint") {
    if (v >= -(2n ** 63n) && v < 2n ** 63n) return { kind: { case: "intValue", value: v } };
    return { kind: { case: "numberText", value: v.toString() } };
  }
  if (typeof v === "number") return Number.isInteger(v) ? { kind: { case: "intValue", value: BigInt(v) } } : { kind: { case: "doubleValue", value: v } };
  if (typeof v === "string") return { kind: { case: "stringValue", value: v } };
  if (Array.isArray(v)) return { kind: { case: "listValue", value: { values: v.map(valueFromPlain) } } };
  return { kind: { case: "objectValue", value: rowFromPlain(v) } };
}

function rowFromPlain(obj: { [key: string]: Json }): object {
  return { fields: Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, valueFromPlain(v)])) };
}

type ValueMsg = { kind: { case: string | undefined; value?: unknown } };
function valueToPlain(v: ValueMsg): Json {
  const k = v.kind;
  switch (k.case) {
    case "boolValue":
    case "doubleValue":
    case "stringValue":
      return k.value as Json;
    case "intValue": {
      const n = k.value as bigint;
      return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
    }
    case "numberText":
      return BigInt(k.value as string);
    case "objectValue":
      return rowToPlain(k.value as { fields: Record<string, ValueMsg> });
    case "listValue":
      return (k.value as { values: ValueMsg[] }).values.map(valueToPlain);
    default:
      return null;
  }
}

function rowToPlain(row: { fields: Record<string, ValueMsg> }): { [key: string]: Json } {
  return Object.fromEntries(Object.entries(row.fields).map(([k, v]) => [k, valueToPlain(v)]));
}

/** The init object of `desc` from its published JSON object (unknown keys are errors). */
export function messageInit(desc: DescMessage, obj: Record<string, unknown>, path = desc.name): Record<string, unknown> {
  if (desc.typeName === "dolake.cdc.v1.Row") return rowFromPlain(obj as { [key: string]: Json }) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(obj)) {
    if (key === "type" || v === undefined) continue;
    const f = desc.fields.find((x) => x.localName === key || x.jsonName === key || x.name === key);
    if (!f) throw new Error(`${path}: unknown field ${key}`);
    const at = `${path}.${key}`;
    switch (f.fieldKind) {
      case "scalar":
        out[f.localName] = INT64.has(f.scalar) ? BigInt(v as number | bigint) : v;
        break;
      case "enum":
        out[f.localName] = enumFromJson(f.enum, v, at);
        break;
      case "message":
        out[f.localName] = v === null ? undefined : messageInit(f.message, v as Record<string, unknown>, at);
        break;
      case "list":
        out[f.localName] = (v as unknown[]).map((x, i) =>
          f.listKind === "message" ? messageInit(f.message, x as Record<string, unknown>, `${at}[${i}]`) : f.listKind === "enum" ? enumFromJson(f.enum, x, at) : x,
        );
        break;
      default:
        throw new Error(`${at}: maps are not used by the wire messages`);
    }
  }
  return out;
}

/** The published JSON object of a message (every scalar, set messages, enums by json_value, 64-bit ints exact). */
export function messageToPlain(desc: DescMessage, msg: Message): { [key: string]: Json } {
  if (desc.typeName === "dolake.cdc.v1.Row") return rowToPlain(msg as unknown as { fields: Record<string, ValueMsg> });
  const m = msg as unknown as Record<string, unknown>;
  const out: { [key: string]: Json } = {};
  for (const f of desc.fields) {
    const v = m[f.localName];
    switch (f.fieldKind) {
      case "scalar":
        if (INT64.has(f.scalar)) {
          const n = v as bigint;
          out[f.jsonName] = n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
        } else out[f.jsonName] = v as Json;
        break;
      case "enum": {
        const s = enumToJson(f.enum, v as number);
        if (s !== undefined) out[f.jsonName] = s;
        break;
      }
      case "message":
        if (v !== undefined) out[f.jsonName] = messageToPlain(f.message, v as Message);
        break;
      case "list":
        out[f.jsonName] = (v as unknown[]).map((x) =>
          f.listKind === "message" ? messageToPlain(f.message, x as Message) : f.listKind === "enum" ? (enumToJson(f.enum, x as number) ?? (x as number)) : (x as Json),
        );
        break;
    }
  }
  return out;
}

/** An envelope (one oneof of wire messages) in published JSON <-> binary, by its json_type options. */
function envelope(schema: DescMessage) {
  const byType = new Map<string, { localName: string; desc: DescMessage }>();
  for (const f of schema.fields) {
    const desc = f.message!;
    byType.set(hasOption(desc, json_type) ? getOption(desc, json_type) : f.name, { localName: f.localName, desc });
  }
  return {
    toBinary(obj: Published): Uint8Array {
      const c = byType.get(obj.type);
      if (!c) throw new Error(`unknown ${schema.name} type ${obj.type}`);
      const value = create(c.desc, messageInit(c.desc, obj) as never);
      return toBinary(schema, create(schema, { message: { case: c.localName, value } } as never));
    },
    fromBinary(bytes: Uint8Array): Published {
      const m = (fromBinary(schema, bytes) as unknown as { message: { case?: string; value?: Message } }).message;
      if (!m.case) throw new Error(`empty ${schema.name}`);
      const entry = [...byType].find(([, c]) => c.localName === m.case)!;
      return { type: entry[0], ...messageToPlain(entry[1].desc, m.value!) };
    },
  };
}

const ENVELOPES = {
  cdc: { client: envelope(ClientMessageSchema), server: envelope(ServerMessageSchema) },
  subscribe: { client: envelope(SubscribeClientMessageSchema), server: envelope(SubscribeServerMessageSchema) },
};

/** The wire protocols: CDC (/ws) and change streams (/v1/subscribe). */
export type Protocol = keyof typeof ENVELOPES;

/** The protobuf binary of a client message given in published JSON form. */
export function clientToBinary(obj: Published, protocol: Protocol = "cdc"): Uint8Array {
  return ENVELOPES[protocol].client.toBinary(obj);
}

/** The published JSON object of a binary client frame (producer mode reads these). */
export function clientFromBinary(bytes: Uint8Array, protocol: Protocol = "cdc"): Published {
  return ENVELOPES[protocol].client.fromBinary(bytes);
}

/** The protobuf binary of a server message given in published JSON form. */
export function serverToBinary(obj: Published, protocol: Protocol = "cdc"): Uint8Array {
  return ENVELOPES[protocol].server.toBinary(obj);
}

/** The published JSON object of a binary server frame. */
export function serverFromBinary(bytes: Uint8Array, protocol: Protocol = "cdc"): Published {
  return ENVELOPES[protocol].server.fromBinary(bytes);
}

/** Wire encoding of a frame. */
export type Encoding = "binary" | "json";

/** A client message as a frame of the given encoding. */
export function encodeClient(obj: Published, encoding: Encoding, protocol: Protocol = "cdc"): string | Uint8Array {
  return encoding === "binary" ? clientToBinary(obj, protocol) : stringifyJson(obj);
}

/** A server frame as its published JSON object, plus how it came. */
export function decodeServer(data: string | Uint8Array, protocol: Protocol = "cdc"): Published & { binary: boolean } {
  if (typeof data === "string") {
    const obj = parseJson(data);
    if (obj === null || typeof obj !== "object" || Array.isArray(obj) || typeof (obj as Record<string, unknown>).type !== "string") {
      throw new Error(`server text frame is not a typed JSON object: ${data.slice(0, 200)}`);
    }
    return { ...(obj as Published), binary: false };
  }
  return { ...serverFromBinary(data, protocol), binary: true };
}
