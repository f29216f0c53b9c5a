import { parseUpid, type TaskWorker } from "./task-worker.js";

/** One line of Proxmox's active task list. */
export interface ActiveListEntry {
  readonly task: TaskWorker;
  /** `<UPID> <saved>` alone: the task had not ended when the list was written. */
  readonly running: boolean;
  /** The end's status (`OK`, an error's words), when it has ended with one. */
  readonly status: string | null;
}

// pve-common src/PVE/INotify.pm read_active_workers: `<UPID> <0|1>`, then for an ended task
// its end time (8 hex digits) and maybe its status; write_active_workers writes exactly that.
const LINE = /^(\S+)\s(0|1)(\s([0-9A-Za-z]{8})(\s(\s*\S.*))?)?$/;

/** Parses one line of the active list as Proxmox reads it; null where Proxmox warns `unable to parse line`. */
export function parseActiveListLine(line: string): ActiveListEntry | null {
  const m = LINE.exec(line);
  const task = m ? parseUpid(m[1]!) : null;
  if (!m || !task) return null;
  return { task, running: m[4] === undefined, status: m[6]?.trim() ?? null };
}
