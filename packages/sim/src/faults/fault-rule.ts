/** What a fault does to a matching call. */
export type FaultAction = "hang" | "hang-before-lock" | "fail" | "crash" | "slow" | "delay-visibility";

/**
 * One fault rule. Rules come from `<root>/etc/lockstep-sim/faults.json` and from the
 * environment variable LOCKSTEP_SIM_FAULTS (both a JSON array of rules).
 */
export interface FaultRule {
  /** The pct subcommand or `*` for any; or a node tool by name (`pveversion`, `pvesh`, `pvesm`, `chronyc`), which `*` never matches. */
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
  /**
   * For `hang` in a task worker: a hang that ignores INT/QUIT/TERM, as a process in D state
   * on a hung storage or pmxcfs does. By default a worker's hang is interruptible.
   */
  readonly uninterruptible?: boolean;
  /**
   * For a `hang` with `ms` in a task worker: `print` writes a line to the task's output when
   * the hang ends (a worker whose `pct` is gone dies of SIGPIPE at that write), `quiet`
   * (the default) goes on without writing.
   */
  readonly afterHang?: "print" | "quiet";
}
