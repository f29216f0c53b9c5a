import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { RunId } from "./network-names.js";

/** Whether the process that made a run still lives (the same process: pid and start time). */
export type OwnerCheck = (run: RunId) => boolean;

/** A new run owned by this process. */
export function newRun(): RunId {
  const start = processStart(process.pid);
  if (start === null) throw new Error("cannot read this process's own start time from /proc");
  return { token: randomBytes(4).toString("hex"), pid: process.pid, start };
}

/** The real check: /proc/<pid>/stat names the same start time. */
export const ownerAlive: OwnerCheck = (run) => processStart(run.pid) === run.start;

/** A process's start time (field 22 of /proc/<pid>/stat, clock ticks since boot), or null when it is gone. */
export function processStart(pid: number): string | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
}
