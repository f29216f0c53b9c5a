import { readFile } from "node:fs/promises";
import type { ProcReader } from "../proc/proc-reader.js";
import type { ActiveTaskView } from "./lock-report.js";

// pve-common RESTEnvironment.pm / Tools.pm upid_encode: node, pid, pstart, starttime, type, id, user.
// The id field is empty for a multi-guest vzdump (pve-manager API2/VZDump.pm vzdump).
const UPID = /^UPID:[^:]+:([0-9A-F]{8}):([0-9A-F]{8}):([0-9A-F]{8}):([^:]+):([^:]*):([^:]+):$/;

/**
 * Every task on the node that really runs, under any id. Proxmox rewrites the active list
 * only when tasks start or end (pve-common INotify.pm, a running line is `<UPID> <0|1>`), so a
 * line alone proves nothing: the task runs only if its PID lives with the same start time
 * (field 22) and is not a zombie, as ProcFSTools::check_process_running decides.
 */
export async function liveTasks(file: string, proc: ProcReader): Promise<ActiveTaskView[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return [];
  }
  const tasks: ActiveTaskView[] = [];
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields.length !== 2) continue;
    const m = UPID.exec(fields[0]!);
    if (!m) continue;
    const pid = parseInt(m[1]!, 16);
    const info = await proc.process(pid);
    if (!info || info.startTicks !== parseInt(m[2]!, 16) || info.state === "Z") continue;
    tasks.push({ upid: fields[0]!, type: m[4]!, id: m[5]!, pid, startedMs: parseInt(m[3]!, 16) * 1000, user: m[6]! });
  }
  return tasks;
}
