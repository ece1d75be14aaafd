/**
 * The DoLake package: the Durable Object and Worker to deploy, the producer client, the wire
 * codec and the configuration defaults.
 */
export { DoLake } from "./do/dolake.js";
export { default as worker } from "./worker.js";
export type { WorkerEnv as DoLakeEnv } from "./worker.js";
export { DEFAULT_CONFIG, resolveConfig, type DoLakeConfig } from "./config.js";
export { createProducer, ProducerError, type Producer, type ProducerEvent, type ProducerOptions } from "./client/producer.js";
export {
  decodeClientFrame,
  decodeServerFrame,
  encodeClientMessage,
  encodeServerMessage,
  FrameError,
  type Encoding,
} from "./protocol/frames.js";
export { rowFromJson, rowToJson } from "./protocol/json-value.js";
export { NACK_RULES } from "./protocol/nack-reasons.js";
export { JsonNumber, parseJson, stringifyJson, type JsonObject, type JsonValue } from "./util/json.js";
export * from "../gen/dolake/cdc/v1/cdc_pb.js";
export { RowSchema, ValueSchema, type Row, type Value } from "../gen/dolake/cdc/v1/value_pb.js";
