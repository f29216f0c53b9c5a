import { ErrorReason, errorReasonToJSON } from "../gen/lockstep/agent/v1/agent.js";

/** Stable reason codes, as they travel on the wire and appear in logs and HTTP problems. */
export type ReasonCode = Exclude<keyof typeof ErrorReason, "UNSPECIFIED" | "UNRECOGNIZED" | number>;

/** The string code of a wire enum value (`ErrorReason.LOCK_HELD` → `"LOCK_HELD"`). */
export function reasonCode(reason: ErrorReason): ReasonCode {
  const name = errorReasonToJSON(reason).replace(/^ERROR_REASON_/, "");
  return (name in ErrorReason && name !== "UNSPECIFIED" && name !== "UNRECOGNIZED" ? name : "INTERNAL") as ReasonCode;
}

/** The wire enum value of a string code. */
export function reasonEnum(code: ReasonCode): ErrorReason {
  return ErrorReason[code];
}
