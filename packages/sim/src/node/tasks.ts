import { appendFileSync, readFileSync } from "node:fs";
import path from "node:path";
import { withPrivateLock } from "../locking/flock.js";
import { replaceFile } from "./replace-file.js";
import type { SimLayout } from "./sim-layout.js";

const hex8 = (n: number): string => n.toString(16).toUpperCase().padStart(8, "0");

/** Field 22 of /proc/self/stat: what makes a PID's UPID unique across PID reuse. */
function processStartTicks(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
}

/** A running Proxmox task: listed in `/var/log/pve/tasks/active` until it ends. */
export class Task {
  readonly upid: string;

  constructor(private readonly layout: SimLayout, node: string, type: string, vmid: number) {
    const start = Math.floor(Date.now() / 1000);
    this.upid = `UPID:${node}:${hex8(process.pid)}:${hex8(processStartTicks())}:${hex8(start)}:${type}:${vmid}:root@pam:`;
    this.edit((lines) => [...lines, `${this.upid} ${hex8(start)}`]);
  }

  /** Rewrites the line as finished, with Proxmox's end time and status (`OK` or the error). */
  finish(status: string): void {
    const end = hex8(Math.floor(Date.now() / 1000));
    this.edit((lines) => lines.map((line) => (line.startsWith(`${this.upid} `) ? `${line.split(" ").slice(0, 2).join(" ")} ${end} ${status.split("\n")[0]}` : line)));
  }

  private edit(change: (lines: string[]) => string[]): void {
    withPrivateLock(path.join(this.layout.tasksDir, ".active.lock"), () => {
      const lines = readFileSync(this.layout.tasksActive, "utf8").split("\n").filter(Boolean);
      replaceFile(this.layout.tasksActive, change(lines).map((l) => `${l}\n`).join(""));
    });
  }
}

/** Appends one call record; each line is one small O_APPEND write, so concurrent writers never interleave. */
export function recordCall(layout: SimLayout, record: Record<string, unknown>): void {
  appendFileSync(layout.callsLog, `${JSON.stringify(record)}\n`);
}

/** Runs `work` as a Proxmox task: listed as active while it runs, finished with OK or its error. */
export function withTask<T>(layout: SimLayout, node: string, type: string, vmid: number, work: () => T): T {
  const task = new Task(layout, node, type, vmid);
  try {
    const result = work();
    task.finish("OK");
    return result;
  } catch (err) {
    task.finish(err instanceof Error ? err.message : String(err));
    throw err;
  }
}
