import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { constants, mkdirSync, openSync, unlinkSync } from "node:fs";
import path from "node:path";
import type { SimLayout } from "../node/sim-layout.js";

/** Both ends of one anonymous-in-effect pipe. */
export interface OutputPipe {
  /** Non-blocking read end, kept by `pct`. */
  readonly readFd: number;
  /** Blocking write end, given to the worker as its stdout AND stderr. */
  readonly writeFd: number;
}

/**
 * fork_worker's `@psync = POSIX::pipe()`: the worker's stdout and stderr are ONE pipe to
 * `pct`. Node cannot make a pipe, so this is a FIFO made by mkfifo(1), opened at both ends
 * and unlinked at once: from then on it is a pipe no one else can open.
 */
export function openOutputPipe(layout: SimLayout): OutputPipe {
  const dir = path.join(layout.stateDir, "pipes");
  mkdirSync(dir, { recursive: true });
  const fifo = path.join(dir, randomBytes(8).toString("hex"));
  const made = spawnSync("mkfifo", ["-m", "600", fifo]);
  if (made.status !== 0)
    throw new Error(`simulator: mkfifo ${fifo} failed: ${made.stderr?.toString() ?? made.error?.message}`);
  try {
    const readFd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writeFd = openSync(fifo, constants.O_WRONLY);
    return { readFd, writeFd };
  } finally {
    unlinkSync(fifo);
  }
}
