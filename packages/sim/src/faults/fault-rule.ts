/** What a fault does to a matching call. */
export type FaultAction = "hang" | "hang-before-lock" | "fail" | "crash" | "slow" | "delay-visibility";

/**
 * One fault rule. Rules come from `<root>/etc/lockstep-sim/faults.json` and from the
 * environment variable LOCKSTEP_SIM_FAULTS (both a JSON array of rules).
 */
export interface FaultRule {
  /** The pct subcommand, or `*` for any. */
  readonly command: string;
  readonly vmid?: number;
  /** Let the first N matching calls pass untouched. */
  readonly skip?: number;
  /** Affect this many matching calls after the skipped ones; forever when absent. */
  readonly times?: number;
  readonly action: FaultAction;
  /** For `fail`: the error text. */
  readonly message?: string;
  /** For `fail`: the exit status (255 by default). */
  readonly exitCode?: number;
  /** For `slow` and `delay-visibility` the delay; for `hang` a limit (forever when absent). */
  readonly ms?: number;
}
