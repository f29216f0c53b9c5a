/** Why a pmxcfs control failed, as a stable code. */
export type PmxcfsErrorCode =
  | "NO_ROOT"
  | "NO_CLUSTER"
  | "NO_FUSE"
  | "NOT_RUNNING"
  | "MOUNTPOINT_NOT_EMPTY"
  | "START_TIMEOUT"
  | "CONTROL_FAILED"
  | "UNMOUNT_FAILED";

/** A control of the simulated pmxcfs that could not be carried out. */
export class PmxcfsError extends Error {
  constructor(
    readonly code: PmxcfsErrorCode,
    message: string,
  ) {
    super(message);
  }
}
