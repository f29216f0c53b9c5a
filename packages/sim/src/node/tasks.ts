import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { activeWorkers } from "../tasks/active-workers.js";
import { encodeUpid, procStat, taskLogPath } from "../tasks/upid.js";
import type { SimLayout } from "./sim-layout.js";

/**
 * A Proxmox task run inside the `pct` process itself, for the commands not yet converted
 * to a TaskCommand (tasks/run-task.ts runs those in a worker). Listed in the active list
 * and logged as a worker's task is.
 */
export class Task {
  readonly upid: string;

  constructor(private readonly layout: SimLayout, node: string, type: string, vmid: number) {
    const starttime = Math.floor(Date.now() / 1000);
    this.upid = encodeUpid({ node, pid: process.pid, pstart: procStat("self")!.starttime, starttime, type, id: String(vmid), user: "root@pam" });
    const log = taskLogPath(layout, this.upid);
    mkdirSync(path.dirname(log), { recursive: true });
    writeFileSync(log, "");
    activeWorkers(layout, this.upid, true);
  }

  /** Ends the task with `OK` or the error, as its worker's control message would. */
  finish(status: string): void {
    const line = status === "OK" ? "TASK OK\n" : `\nTASK ERROR: ${status.replace(/\n+$/, "").replace(/\n/g, " ")}\n`;
    appendFileSync(taskLogPath(this.layout, this.upid), line);
    activeWorkers(this.layout, undefined, false, this.upid);
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
