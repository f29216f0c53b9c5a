import { readFileSync } from "node:fs";
import type { ProcReader } from "../proc/proc-reader.js";
import type { ActiveTaskView } from "./lock-report.js";

const UPID = /^UPID:[^:]+:([0-9A-F]{8}):([0-9A-F]{8}):([0-9A-F]{8}):([^:]+):([^:]*):([^:]+):$/;

/**
 * The tasks of `vmid` that are really running. Proxmox rewrites the active list only when
 * tasks are listed, so a line alone proves nothing: the task runs only if its PID lives
 * with the same start time (field 22) and is not a zombie.
 */
export function activeTasks(file: string, vmid: number, proc: ProcReader): ActiveTaskView[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  const tasks: ActiveTaskView[] = [];
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields.length !== 2) continue;
    const m = UPID.exec(fields[0]!);
    if (!m || m[5] !== String(vmid)) continue;
    const pid = parseInt(m[1]!, 16);
    const info = proc.process(pid);
    if (!info || info.startTicks !== parseInt(m[2]!, 16) || info.state === "Z") continue;
    tasks.push({ upid: fields[0]!, type: m[4]!, pid, startedMs: parseInt(m[3]!, 16) * 1000, user: m[6]! });
  }
  return tasks;
}
