import { writeSync } from "node:fs";
import { recordCall } from "../node/tasks.js";
import type { SimLayout } from "../node/sim-layout.js";

/** Set inside a task worker: a write to its broken output pipe then kills it. */
let worker: { layout: SimLayout; upid: string } | null = null;

/** Marks this process as the task worker of `upid` (its fd 1 and 2 are the pipe to `pct`). */
export function becomeTaskWorker(layout: SimLayout, upid: string): void {
  worker = { layout, upid };
}

/**
 * Writes `text` to `fd`. In a task worker a write to the pipe whose reader (`pct`) is gone
 * kills the worker on the spot with no cleanup, as SIGPIPE's default action kills Proxmox's
 * Perl worker (fork_worker sets `$SIG{PIPE} = 'DEFAULT'`). Node ignores SIGPIPE and cannot
 * restore its default, so on EPIPE the worker records a `task-sigpipe` call record and
 * SIGKILLs itself: no `finally`, no error path, no control message.
 */
export function writeOutput(fd: number, text: string): void {
  try {
    writeSync(fd, text);
  } catch (err) {
    if (!worker || (err as NodeJS.ErrnoException).code !== "EPIPE") throw err;
    recordCall(worker.layout, { event: "task-sigpipe", upid: worker.upid, pid: process.pid, at: Date.now() });
    process.kill(process.pid, "SIGKILL");
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10_000);
  }
}
