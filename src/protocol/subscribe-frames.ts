/**
 * WebSocket frames of the change-stream protocol (proto/dolake/subscribe/v1) <-> messages, in
 * both encodings, with the same published JSON form as the CDC protocol (frames.ts). The server
 * answers in the encoding of the subscriber's Subscribe frame.
 */
import { create } from "@bufbuild/protobuf";
import {
  type SubscribeClientMessage,
  SubscribeClientMessageSchema,
  type SubscribeServerMessage,
  SubscribeServerMessageSchema,
} from "../../gen/dolake/subscribe/v1/subscribe_pb.js";
import { EnvelopeCodec, type Encoding } from "./frames.js";

const client = new EnvelopeCodec<SubscribeClientMessage>(SubscribeClientMessageSchema);
const server = new EnvelopeCodec<SubscribeServerMessage>(SubscribeServerMessageSchema);

/** Decodes a subscriber's frame. Throws FrameError naming the problem. */
export function decodeSubscribeClientFrame(data: string | ArrayBuffer | Uint8Array): { message: SubscribeClientMessage; encoding: Encoding } {
  if (typeof data === "string") return { message: client.fromText(data), encoding: "json" };
  return { message: client.fromBinary(data), encoding: "binary" };
}

/** Encodes a server message of the change-stream protocol. */
export function encodeSubscribeServerMessage(message: SubscribeServerMessage, encoding: Encoding): string | Uint8Array {
  return server.encode(message, encoding);
}

/** Decodes a server frame (subscribers use this). */
export function decodeSubscribeServerFrame(data: string | ArrayBuffer | Uint8Array): SubscribeServerMessage {
  return typeof data === "string" ? server.fromText(data) : server.fromBinary(data);
}

/** Encodes a subscriber's message (clients use this). */
export function encodeSubscribeClientMessage(message: SubscribeClientMessage, encoding: Encoding): string | Uint8Array {
  return client.encode(message, encoding);
}

/** The published JSON object of a server message (golden vectors, logs). */
export function subscribeServerMessageToJson(message: SubscribeServerMessage) {
  return server.toJsonObject(message);
}

/** The published JSON object of a subscriber's message. */
export function subscribeClientMessageToJson(message: SubscribeClientMessage) {
  return client.toJsonObject(message);
}

/** A server message of one kind (shorthand for create(...)). */
export function subscribeServer<C extends NonNullable<SubscribeServerMessage["message"]["case"]>>(kind: C, value: Record<string, unknown>): SubscribeServerMessage {
  return create(SubscribeServerMessageSchema, { message: { case: kind, value } } as never);
}
