import type { FaultRule } from "../faults/fault-rule.js";

/** The environment variable through which `pct` hands the worker its plan. */
export const WORKER_PLAN_ENV = "LOCKSTEP_SIM_TASK_PLAN";

/** The argument that makes the simulator's executable run as a task worker. */
export const WORKER_ARG = "task-worker";

/** The worker's fd of its control channel with `pct` (sync, then the control message). */
export const CONTROL_FD = 3;

/**
 * Room in the worker's argv for its title `task UPID:...` (Node can only set a process
 * title as long as the argv it started with).
 */
export const TITLE_ROOM = "-".repeat(256);

/** What the worker process needs to run a task's body: all of it JSON. */
export interface WorkerPlan {
  /** The pct subcommand whose body runs. */
  readonly command: string;
  readonly type: string;
  readonly id: string;
  readonly prepared: unknown;
  /** fork_worker's `$starttime = time()`, taken in `pct` before the fork. */
  readonly starttime: number;
  /** The fault rule chosen in `pct`, or null. */
  readonly rule: FaultRule | null;
}
