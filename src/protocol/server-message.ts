import { create } from "@bufbuild/protobuf";
import { type ServerMessage, ServerMessageSchema } from "../../gen/dolake/cdc/v1/cdc_pb.js";

/** Builds a ServerMessage of one case from its fields. */
export function server<C extends NonNullable<ServerMessage["message"]["case"]>>(kind: C, value: Record<string, unknown>): ServerMessage {
  return create(ServerMessageSchema, { message: { case: kind, value } } as never);
}
