import { readFileSync } from "node:fs";
import path from "node:path";
import type { SimLayout } from "../node/sim-layout.js";

/** The fields of a UPID (pve-common src/PVE/UPID.pm). */
export interface UpidFields {
  readonly node: string;
  readonly pid: number;
  readonly pstart: number;
  readonly starttime: number;
  readonly type: string;
  readonly id: string;
  readonly user: string;
}

const hex8 = (n: number): string => n.toString(16).toUpperCase().padStart(8, "0");

/** pve-common UPID.pm, encode: `UPID:%s:%08X:%08X:%08X:%s:%s:%s:`. */
export function encodeUpid(d: UpidFields): string {
  return `UPID:${d.node}:${hex8(d.pid)}:${hex8(d.pstart)}:${hex8(d.starttime)}:${d.type}:${d.id}:${d.user}:`;
}

const UPID_RE =
  /^UPID:([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/;

/** pve-common UPID.pm, decode: the fields, or null for a malformed UPID. */
export function decodeUpid(upid: string): UpidFields | null {
  const m = UPID_RE.exec(upid);
  if (!m) return null;
  return {
    node: m[1]!,
    pid: parseInt(m[3]!, 16),
    pstart: parseInt(m[4]!, 16),
    starttime: parseInt(m[5]!, 16),
    type: m[6]!,
    id: m[7]!,
    user: m[8]!,
  };
}

/**
 * Where UPID::decode puts a task's log: `/var/log/pve/tasks/<last hex digit of the start
 * time>/<UPID>` (its `substr($5, 7, 8)`).
 */
export function taskLogPath(layout: SimLayout, upid: string): string {
  const starttime = upid.split(":")[4] ?? "";
  return path.join(layout.tasksDir, starttime.slice(7, 8), upid);
}

/**
 * pve-common UPID.pm, read_status (PVE 8: Tools.pm upid_read_status): the task's status from
 * its log's last line.
 */
export function readTaskStatus(layout: SimLayout, upid: string): string {
  let text: string;
  try {
    text = readFileSync(taskLogPath(layout, upid), "utf8");
  } catch (err) {
    return `unable to get last line from task log - ${(err as Error).message}`;
  }
  const line = text.replace(/\n+$/, "").split("\n").pop() ?? "";
  if (line === "TASK OK") return "OK";
  const error = /^TASK ERROR: (.+)$/.exec(line);
  if (error) return error[1]!;
  const warnings = /^TASK (WARNINGS: \d+)$/.exec(line);
  return warnings ? warnings[1]! : "unexpected status";
}

/** pve-common UPID.pm, status_is_error: anything but OK and warnings. */
export function statusIsError(status: string): boolean {
  return !(status === "OK" || status.startsWith("WARNINGS: "));
}

/** Field 22 of /proc/<pid>/stat (the start time in ticks), or null when the pid is gone. */
export function procStat(pid: number | "self"): { starttime: number; state: string } | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { state: fields[0]!, starttime: Number(fields[19]) };
}

/** pve-common ProcFSTools.pm, check_process_running: alive, same start time, not a zombie. */
export function processRunning(pid: number, pstart?: number): boolean {
  const info = procStat(pid);
  return info !== null && (!pstart || info.starttime === pstart) && info.state !== "Z";
}
