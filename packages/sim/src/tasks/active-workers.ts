import { appendFileSync, existsSync, readFileSync, renameSync, statSync } from "node:fs";
import path from "node:path";
import { withPrivateLock } from "../locking/flock.js";
import { replaceFile } from "../node/replace-file.js";
import type { SimLayout } from "../node/sim-layout.js";
import { decodeUpid, processRunning, readTaskStatus } from "./upid.js";

interface ListedTask {
  upid: string;
  pid: number;
  pstart: number;
  starttime: number;
  saved: boolean;
  endtime?: number;
  status?: string;
}

/** pve-common RESTEnvironment.pm, active_workers: `$MAX_FINISHED`. */
const MAX_FINISHED = 25;
/** active_workers: the index is rotated to `index.1` past this size. */
const INDEX_MAX_SIZE = 50_000;

const hex8 = (n: number): string => n.toString(16).toUpperCase().padStart(8, "0");

/** pve-common INotify.pm, read_active_workers (lines it cannot parse are skipped). */
function readActive(file: string): ListedTask[] {
  if (!existsSync(file)) return [];
  const tasks: ListedTask[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^(\S+)\s(0|1)(\s([0-9A-Za-z]{8})(\s(\s*\S.*))?)?$/.exec(line);
    const fields = m ? decodeUpid(m[1]!) : null;
    if (!m || !fields) continue;
    tasks.push({
      upid: m[1]!,
      pid: fields.pid,
      pstart: fields.pstart,
      starttime: fields.starttime,
      saved: m[2] === "1",
      ...(m[4] ? { endtime: parseInt(m[4], 16) } : {}),
      ...(m[6] ? { status: m[6] } : {}),
    });
  }
  return tasks;
}

/** pve-common INotify.pm, write_active_workers. */
function formatActive(tasks: ListedTask[]): string {
  return tasks
    .map((t) => {
      const saved = t.saved ? 1 : 0;
      if (!t.endtime) return `${t.upid} ${saved}\n`;
      return t.status
        ? `${t.upid} ${saved} ${hex8(t.endtime)} ${t.status}\n`
        : `${t.upid} ${saved} ${hex8(t.endtime)}\n`;
    })
    .join("");
}

/**
 * pve-common RESTEnvironment.pm, active_workers, under `/var/log/pve/tasks/.active.lock`:
 * re-reads the active list, checks each task's pid and start time, gives each task found
 * dead its end time and the status of its log's last line (UPID::read_status), archives it
 * to `index` once, and keeps the running tasks plus the newest finished ones, 25 in all.
 * `newUpid` is added (as running without a check when `nocheck`: fork_worker's sync case).
 */
export function activeWorkers(layout: SimLayout, newUpid?: string, nocheck = false): void {
  withPrivateLock(path.join(layout.tasksDir, ".active.lock"), () => {
    const running: ListedTask[] = [];
    const finished: ListedTask[] = [];
    const seen = new Set<string>();
    const check = (task: ListedTask, alive: boolean): void => {
      const live = alive || processRunning(task.pid, task.pstart);
      (live ? running : finished).push(task);
    };
    for (const task of readActive(layout.tasksActive)) {
      if (seen.has(task.upid)) continue;
      seen.add(task.upid);
      check(task, false);
    }
    const fields = newUpid && !seen.has(newUpid) ? decodeUpid(newUpid) : null;
    if (newUpid && fields)
      check(
        { upid: newUpid, pid: fields.pid, pstart: fields.pstart, starttime: fields.starttime, saved: false },
        nocheck,
      );
    finished.sort((a, b) => b.starttime - a.starttime);
    let save = newUpid !== undefined;
    for (const task of finished.filter((t) => !t.endtime)) {
      task.endtime = Math.floor(Date.now() / 1000);
      task.status = readTaskStatus(layout, task.upid);
      save = true;
    }
    save = archive(layout, finished) || save;
    const kept = [...running, ...finished.slice(0, Math.max(0, MAX_FINISHED - running.length))];
    if (save) replaceFile(layout.tasksActive, formatActive(kept));
  });
}

/** active_workers: appends `<UPID> <ENDHEX> <status>` to `index` for each finished task not yet saved. */
function archive(layout: SimLayout, finished: ListedTask[]): boolean {
  const fresh = finished.filter((t) => !t.saved);
  if (fresh.length === 0) return false;
  const index = path.join(layout.tasksDir, "index");
  appendFileSync(index, fresh.map((t) => `${t.upid} ${hex8(t.endtime!)} ${t.status}\n`).join(""), { mode: 0o644 });
  for (const task of fresh) task.saved = true;
  if (statSync(index).size > INDEX_MAX_SIZE) renameSync(index, `${index}.1`);
  return true;
}
