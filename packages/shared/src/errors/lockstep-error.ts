import type { ReasonCode } from "./reason.js";

/**
 * Base of every domain error in Lockstep: a stable `code` that survives the wire, a
 * human message, and string metadata (`vmid`, `holder_pid`, ...) for machines.
 */
export class LockstepError extends Error {
  readonly code: ReasonCode;
  readonly metadata: Readonly<Record<string, string>>;

  constructor(code: ReasonCode, message: string, metadata: Record<string, string> = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.metadata = metadata;
  }
}
