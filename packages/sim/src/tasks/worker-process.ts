import { readSync, writeSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { openSimNode } from "../node/sim-node.js";
import { raiseInterrupt } from "./interrupt.js";
import type { BodyResult, BodyThreadData } from "./task-body.js";
import { encodeUpid, procStat } from "./upid.js";
import { CONTROL_FD, WORKER_PLAN_ENV, type WorkerPlan } from "./worker-plan.js";

/**
 * The task worker process, as pve-common RESTEnvironment.pm fork_worker's child: it is in its
 * own session (`pct` spawned it detached: setsid, as for a CLI worker whose stdin is no tty),
 * names itself `task <UPID>` (`$0 = "task $upid"`) with its own pid and start time, sends its
 * UPID to `pct` and waits for `OK`, runs the body, writes `TASK OK` or `TASK ERROR: <msg>` on
 * the control channel and exits (0, or -1 as 255). INT, QUIT and TERM raise the interrupt the
 * body dies of at its next check (`die "received interrupt"`); SIGPIPE: see task-output.ts.
 */
export function runWorkerProcess(entry: string): void {
  const plan = JSON.parse(process.env[WORKER_PLAN_ENV]!) as WorkerPlan;
  delete process.env[WORKER_PLAN_ENV];
  const node = openSimNode(process.env);
  const upid = encodeUpid({
    node: node.name,
    pid: process.pid,
    pstart: procStat("self")!.starttime,
    starttime: plan.starttime,
    type: plan.type,
    id: plan.id,
    user: "root@pam",
  });
  process.title = `task ${upid}`;
  const interrupt = new SharedArrayBuffer(4);
  for (const signal of ["SIGINT", "SIGQUIT", "SIGTERM"] as const) process.on(signal, () => raiseInterrupt(interrupt));
  writeSync(CONTROL_FD, `${upid}\n`);
  if (readControl() !== "OK") process.exit(255); // fork_worker: "parent setup error"
  const data: BodyThreadData = { plan, upid, interrupt };
  const thread = new Worker(entry, { workerData: data });
  thread.once("message", (result: BodyResult) => finish(result.error));
  thread.once("error", (err) => finish(err.message));
}

/** Blocks until `pct` answers on the control channel. */
function readControl(): string {
  const buffer = Buffer.alloc(16);
  for (;;) {
    try {
      const n = readSync(CONTROL_FD, buffer, 0, buffer.length, null);
      return buffer.subarray(0, n).toString();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") return "";
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}

/** fork_worker: the control message, then `POSIX::_exit` (no cleanup of any kind). */
function finish(error: string | undefined): void {
  const message = error === undefined ? "TASK OK\n" : `TASK ERROR: ${error.replace(/\n+$/, "").replace(/\n/g, " ")}\n`;
  try {
    writeSync(CONTROL_FD, message);
  } catch {
    // pct is gone: nobody is left to tell.
  }
  process.exit(error === undefined ? 0 : 255);
}
