import { NackReason } from "../../gen/dolake/cdc/v1/cdc_pb.js";

/** Why a frame or batch is refused: becomes exactly one Nack. */
export class Refusal extends Error {
  constructor(
    readonly reason: NackReason,
    message: string,
    readonly extra: { maxSize?: number; expectedSequence?: bigint; retryDelayMs?: number } = {},
  ) {
    super(message);
  }
}
