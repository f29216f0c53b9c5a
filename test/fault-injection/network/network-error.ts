/** Why a network toolkit call failed, as a stable code. */
export type NetworkErrorCode =
  /** A host name, address, percentage or delay the toolkit cannot take. */
  | "BAD_INPUT"
  /** An `ip`, `tc`, `nft` or `iptables` call exited non-zero. */
  | "COMMAND_FAILED"
  /** Such a call did not end within its timeout (it was killed). */
  | "COMMAND_TIMEOUT"
  /** The machine cannot do it: not root, or the kernel lacks the part. */
  | "UNSUPPORTED"
  /** A fault of this kind already holds this host; heal it first. */
  | "FAULT_ACTIVE"
  /** The delayer of a host that has no sch_netem did not start, or died. */
  | "DELAYER_FAILED"
  /** The network was destroyed; nothing more can be done with it. */
  | "DESTROYED";

/** A network toolkit call that could not be carried out. */
export class NetworkError extends Error {
  constructor(
    readonly code: NetworkErrorCode,
    message: string,
    /** For COMMAND_*: the argv that failed, its exit code and its stderr. */
    readonly command?: { readonly argv: readonly string[]; readonly exitCode: number | null; readonly stderr: string },
  ) {
    super(message);
    this.name = "NetworkError";
  }
}
