/**
 * WebSocket frames <-> protocol messages. A binary frame is one ClientMessage/ServerMessage in
 * the protobuf binary encoding; a text frame is the published JSON form ({"type": ..., ...}).
 * The server answers in the encoding the frame came in.
 */
import { create, type DescMessage, fromBinary, getOption, hasOption, type Message, toBinary } from "@bufbuild/protobuf";
import {
  type ClientMessage,
  ClientMessageSchema,
  type ServerMessage,
  ServerMessageSchema,
} from "../../gen/dolake/cdc/v1/cdc_pb.js";
import { json_type } from "../../gen/dolake/cdc/v1/options_pb.js";
import { jsonNestsDeeperThan, type JsonObject, parseJson, stringifyJson } from "../util/json.js";
import { messageFromJson, messageToJson, PublishedJsonError } from "./published-json.js";

/** How a frame was encoded; answers use the same. */
export type Encoding = "binary" | "json";

/** A frame that could not be read as a client message. */
export class FrameError extends Error {
  constructor(
    message: string,
    /** What could be read of the frame, for the nack. */
    readonly partial: { sequenceNumber?: bigint; correlationId?: string } = {},
  ) {
    super(message);
  }
}

interface EnvelopeCase {
  localName: string;
  jsonName: string;
  desc: DescMessage;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A frame's sequenceNumber, if the nack can echo it: an int64 (1.5, 1e400 or 2^64 cannot be). */
function echoableSequence(v: unknown): bigint | undefined {
  const n = Number.isSafeInteger(v) ? BigInt(v as number) : typeof v === "bigint" ? v : undefined;
  return n !== undefined && n >= INT64_MIN && n <= INT64_MAX ? n : undefined;
}

/**
 * An envelope message (one oneof of wire messages) in both encodings: the published JSON form
 * ({"type": <json_type>, ...fields}) and the protobuf binary form. Any protocol of ours with
 * json_type options on its messages uses one (CDC here, subscribe in subscribe-frames.ts).
 */
export class EnvelopeCodec<T extends Message> {
  private readonly byType = new Map<string, EnvelopeCase>();
  private readonly typeByCase = new Map<string, { type: string; desc: DescMessage }>();

  constructor(private readonly envelope: DescMessage) {
    for (const f of envelope.fields) {
      const desc = f.message!;
      const type = hasOption(desc, json_type) ? getOption(desc, json_type) : f.name;
      this.byType.set(type, { localName: f.localName, jsonName: f.jsonName, desc });
      this.typeByCase.set(f.localName, { type, desc });
    }
  }

  /** Reads an envelope from its published JSON form ({"type": ...}) or its proto3 JSON form ({"cdcBatch": {...}}). */
  fromJson(obj: unknown): T {
    if (obj === null || typeof obj !== "object" || Array.isArray(obj)) throw new FrameError("frame: expected a JSON object");
    const record = obj as Record<string, unknown>;
    const partial = {
      sequenceNumber: echoableSequence(record.sequenceNumber),
      correlationId: typeof record.correlationId === "string" ? record.correlationId : undefined,
    };
    try {
      if ("type" in record) {
        const type = record.type;
        const c = typeof type === "string" ? this.byType.get(type) : undefined;
        if (!c) throw new FrameError(`frame: unknown message type ${stringifyJson(type)?.slice(0, 100)}; expected one of ${[...this.byType.keys()].join(", ")}`, partial);
        const inner = messageFromJson(c.desc, record, type as string, "type");
        return create(this.envelope, { message: { case: c.localName, value: inner } } as never) as unknown as T;
      }
      const keys = Object.keys(record);
      const c = [...this.byType.values()].find((x) => x.jsonName === keys[0] || x.localName === keys[0]);
      if (keys.length !== 1 || !c) throw new FrameError('frame: missing "type"', partial);
      const inner = messageFromJson(c.desc, record[keys[0]!], keys[0]!);
      return create(this.envelope, { message: { case: c.localName, value: inner } } as never) as unknown as T;
    } catch (e) {
      if (e instanceof PublishedJsonError) throw new FrameError(e.message, partial);
      throw e;
    }
  }

  /** Parses a text frame (see parseFrameJson) into an envelope. */
  fromText(text: string): T {
    return this.fromJson(parseFrameJson(text));
  }

  /** Reads a binary frame; malformed protobuf or an empty envelope is a FrameError. */
  fromBinary(data: ArrayBuffer | Uint8Array): T {
    let message: T;
    try {
      message = fromBinary(this.envelope, data instanceof Uint8Array ? data : new Uint8Array(data)) as unknown as T;
    } catch (e) {
      throw new FrameError(`frame: malformed protobuf (${(e as Error).message})`);
    }
    if ((message as unknown as { message: { case: unknown } }).message.case === undefined) throw new FrameError(`frame: empty ${this.envelope.name} (no message set)`);
    return message;
  }

  /** The published JSON object of an envelope message. */
  toJsonObject(message: T): JsonObject {
    const c = (message as unknown as { message: { case?: string; value?: Message } }).message;
    const entry = c.case ? this.typeByCase.get(c.case) : undefined;
    if (!entry || !c.value) throw new Error("envelope has no message set");
    return { type: entry.type, ...messageToJson(entry.desc, c.value) };
  }

  /** Encodes a message for the given encoding. */
  encode(message: T, encoding: Encoding): string | Uint8Array {
    if (encoding === "binary") return toBinary(this.envelope, message);
    return stringifyJson(this.toJsonObject(message));
  }
}

const client = new EnvelopeCodec<ClientMessage>(ClientMessageSchema);
const server = new EnvelopeCodec<ServerMessage>(ServerMessageSchema);

/** Deepest nesting of arrays and objects a JSON frame may have (envelope, events, rows, nested values). */
export const MAX_JSON_DEPTH = 64;

/** Parses a text frame; invalid JSON, or JSON nested deeper than MAX_JSON_DEPTH, is a FrameError. */
function parseFrameJson(text: string): unknown {
  if (jsonNestsDeeperThan(text, MAX_JSON_DEPTH)) throw new FrameError(`frame: JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return parseJson(text);
  } catch (e) {
    throw new FrameError(`frame: invalid JSON (${(e as Error).message})`);
  }
}

/** Decodes one frame from a producer. Throws FrameError naming the problem. */
export function decodeClientFrame(data: string | ArrayBuffer | Uint8Array): { message: ClientMessage; encoding: Encoding } {
  if (typeof data === "string") return { message: client.fromText(data), encoding: "json" };
  return { message: client.fromBinary(data), encoding: "binary" };
}

/** Encodes a server message for the given encoding. */
export function encodeServerMessage(message: ServerMessage, encoding: Encoding): string | Uint8Array {
  return server.encode(message, encoding);
}

/** Encodes a client message (producers use this). */
export function encodeClientMessage(message: ClientMessage, encoding: Encoding): string | Uint8Array {
  return client.encode(message, encoding);
}

/** Decodes a server frame (producers use this). */
export function decodeServerFrame(data: string | ArrayBuffer | Uint8Array): ServerMessage {
  if (typeof data === "string") return server.fromText(data);
  return fromBinary(ServerMessageSchema, data instanceof Uint8Array ? data : new Uint8Array(data));
}

/** The published JSON object of a client message (for golden vectors and logs). */
export function clientMessageToJson(message: ClientMessage) {
  return client.toJsonObject(message);
}
/** The published JSON object of a server message. */
export function serverMessageToJson(message: ServerMessage) {
  return server.toJsonObject(message);
}
