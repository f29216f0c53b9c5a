import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseUpid } from "./task-worker.js";

/** A finished Proxmox task's outcome, as `PVE::UPID::read_status` reads it from its log. */
export interface TaskOutcome {
  readonly upid: string;
  /** `OK`, `WARNINGS: <n>`, the error message, or `unexpected status` (the log has no end). */
  readonly status: string;
  /** Proxmox's own verdict (pve-common UPID.pm status_is_error): only OK and WARNINGS succeeded. */
  readonly succeeded: boolean;
}

/**
 * The outcome of the newest task of `type` on `id` that started at `sinceS` (Unix seconds) or
 * later, from the node's own task history: the active list and the index it archives into
 * (`index`, rotated to `index.1`; pve-common RESTEnvironment.pm active_workers) name the
 * UPIDs, and each task's log ends with the status its `pct` wrote (`TASK OK`,
 * `TASK ERROR: ...`, `TASK WARNINGS: n`; fork_worker, tee_worker). Null when no such task is
 * listed. Call it only once no worker of that task runs: a running task's log has no end yet.
 */
export async function lastTaskOutcome(
  tasksActive: string,
  type: string,
  id: string,
  sinceS: number,
): Promise<TaskOutcome | null> {
  const tasksDir = path.dirname(tasksActive);
  const listed = await Promise.all(
    [tasksActive, path.join(tasksDir, "index"), path.join(tasksDir, "index.1")].map(readOrEmpty),
  );
  let newest: { upid: string; startS: number } | null = null;
  for (const line of listed.join("\n").split("\n")) {
    const task = parseUpid(line.split(/\s+/, 1)[0] ?? "");
    if (!task || task.type !== type || task.id !== id || task.startS < sinceS) continue;
    if (!newest || task.startS >= newest.startS) newest = { upid: task.upid, startS: task.startS };
  }
  if (!newest) return null;
  const status = readStatus(await readOrEmpty(taskLogPath(tasksDir, newest.upid, newest.startS)));
  return { upid: newest.upid, status, succeeded: status === "OK" || /^WARNINGS: \d+$/.test(status) };
}

/** pve-common UPID.pm decode: `<tasks dir>/<last hex digit of the start time>/<UPID>`. */
function taskLogPath(tasksDir: string, upid: string, startS: number): string {
  return path.join(tasksDir, startS.toString(16).toUpperCase().slice(-1), upid);
}

/** pve-common UPID.pm read_status, on the log's text. */
function readStatus(log: string): string {
  const last = log.replace(/\n+$/, "").split("\n").pop() ?? "";
  if (last === "TASK OK") return "OK";
  const error = /^TASK ERROR: (.+)$/.exec(last);
  if (error) return error[1]!;
  const warnings = /^TASK (WARNINGS: \d+)$/.exec(last);
  return warnings ? warnings[1]! : "unexpected status";
}

async function readOrEmpty(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw err;
  }
}
