import type { SimContext } from "../commands/sim-context.js";
import type { HeldLock } from "../locking/flock.js";

/**
 * What a task's body works with inside its worker. Proxmox's worker writes its output to a
 * pipe that the `pct` process relays (pve-common RESTEnvironment.pm, fork_worker/tee_worker):
 * a write after `pct` died kills the worker (SIGPIPE), and an interrupt (`pct` got SIGTERM and
 * sent TERM to the worker's group) makes the worker die with "received interrupt" at its next
 * check, running the command's own error path.
 */
export interface TaskIo {
  /** The task's UPID, `UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:`. */
  readonly upid: string;
  /** Task output (the worker's stdout, relayed by `pct` and copied to the task log). */
  print(text: string): void;
  /** Waits `ms`, noticing an interrupt as Proxmox's worker does (throws `received interrupt`). */
  sleep(ms: number): void;
  /** A check point between steps: throws `received interrupt` when one is pending. */
  checkpoint(): void;
}

/** What the `pct` process decided before forking the worker. */
export interface TaskPlan<P> {
  /** UPID type field: `vzcreate`, `vzdestroy`, `vzstart`, `push_file`, `vzdump`, ... */
  readonly type: string;
  /** UPID id field: a VMID, or empty (vzdump of several guests lists no VMID). */
  readonly id: string;
  /** Everything the body needs, JSON-serialisable (the worker is another process). */
  readonly prepared: P;
  /**
   * A flock the `pct` process took before forking and the worker inherits (push and pull:
   * pve-container src/PVE/CLI/pct.pm runs fork_worker inside lock_config). The worker gets
   * the descriptor (same open file description, so the same lock); `pct` closes its copy when
   * the task has ended. A `pct` killed meanwhile leaves the lock held by the worker alone.
   */
  readonly inheritedLock?: HeldLock;
}

/**
 * A command that Proxmox runs through `fork_worker`: `before` runs in the `pct` process
 * (argument checks, and what Proxmox does before forking, such as create's placeholder under
 * its 5 s flock), `body` in the task worker. A thrown error fails the task (`TASK ERROR:`).
 */
export interface TaskCommand<P = unknown> {
  readonly kind: "task";
  /**
   * Whether `pct` exits 255 when the task failed: pct.pm's cmddef `$upid_exit` (create,
   * destroy, start, stop, shutdown, snapshot, delsnapshot, clone, ...). `false` for a command
   * without it (push, pull): it exits 0 whatever the task's status. Default true.
   */
  readonly exitOnTaskError?: boolean;
  before(ctx: SimContext, args: string[]): TaskPlan<P>;
  body(ctx: SimContext, prepared: P, io: TaskIo): void;
}

/** Declares a task command (keeps `P` checked between `before` and `body`). */
export function taskCommand<P>(command: Omit<TaskCommand<P>, "kind">): TaskCommand<P> {
  return { kind: "task", ...command };
}
