import { existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FaultRule } from "./faults/fault-rule.js";
import { replaceFile } from "./node/replace-file.js";
import { simLayout, type SimLayout } from "./node/sim-layout.js";

import { decodeUpid, processRunning } from "./tasks/upid.js";

export type { FaultAction, FaultRule } from "./faults/fault-rule.js";
export { AFTER_HANG_LINE } from "./faults/active-fault.js";
export { decodeUpid, readTaskStatus, taskLogPath } from "./tasks/upid.js";
export { simLayout, type SimLayout } from "./node/sim-layout.js";
export { layOutSimNode, openSimNode, type SimNode } from "./node/sim-node.js";
export {
  createSimCluster,
  type SimCluster,
  type SimClusterNode,
  type SimClusterOptions,
} from "./cluster/create-sim-cluster.js";
export { clusterDir, type ClusterDir } from "./cluster/cluster-dir.js";
export { dotMembers, joinCluster, memberRoot, readCorosyncConf } from "./cluster/cluster-members.js";
export {
  formatCorosyncConf,
  parseCorosyncConf,
  type CorosyncConf,
  type CorosyncNode,
} from "./cluster/corosync-conf.js";
export { layOutPveFallback, perNodeLinks, pveLaidOut } from "./cluster/pve-fallback.js";
export { MIGRATE_CALLER } from "./cluster/remote-node.js";
export { HA_CALLER } from "./ha/ha-resources.js";
export { controlPmxcfs, PMXCFS_ACTIONS, type PmxcfsAction } from "./pmxcfs/pmxcfs-controller.js";
export { fuseSupport, type FuseSupport } from "./pmxcfs/fuse-support.js";
export { readPmxcfsState, type PmxcfsState } from "./pmxcfs/pmxcfs-state.js";
export { parseConfig, type CtConfig } from "./node/ct-config.js";
export { readRuntime, type RuntimeState } from "./node/runtime-state.js";

/** Absolute path of the simulator's executable: what the agent runs instead of /usr/sbin/pct. */
export const simPctBin = fileURLToPath(new URL("../bin/lockstep-sim-pct.js", import.meta.url));

/** The simulated node's `vzdump` (backups), `qm` (QEMU VMs) and `ha-manager`. */
export const simVzdumpBin = fileURLToPath(new URL("../bin/lockstep-sim-vzdump.js", import.meta.url));
export const simQmBin = fileURLToPath(new URL("../bin/lockstep-sim-qm.js", import.meta.url));
export const simHaManagerBin = fileURLToPath(new URL("../bin/lockstep-sim-ha-manager.js", import.meta.url));

/** The simulated node's other tools, as a real node has them: what the agent's doctor asks. */
export const simNodeToolBins = {
  pveversion: fileURLToPath(new URL("../bin/lockstep-sim-pveversion.js", import.meta.url)),
  pvesh: fileURLToPath(new URL("../bin/lockstep-sim-pvesh.js", import.meta.url)),
  pvesm: fileURLToPath(new URL("../bin/lockstep-sim-pvesm.js", import.meta.url)),
  chronyc: fileURLToPath(new URL("../bin/lockstep-sim-chronyc.js", import.meta.url)),
} as const;

/** One line of the simulator's record of `pct` calls. */
export type CallRecord =
  | { event: "start"; id: string; pid: number; argv: string[]; vmid: number | null; at: number; caller?: string }
  /** `pct unlock` (process `pid`, run by `caller` when one was named) removed this lock value. */
  | { event: "unlocked"; pid: number; vmid: number; lock: string; at: number; caller?: string }
  | { event: "end"; id: string; exitCode: number; durationMs: number; at: number }
  /** pct forked a task worker (written once pct listed it as active). */
  | { event: "task-start"; upid: string; workerPid: number; at: number }
  /** pct saw its worker end: the task's status (read from its log) and how the worker exited. */
  | {
      event: "task-end";
      upid: string;
      workerPid: number;
      status: string;
      exitCode: number | null;
      signal: string | null;
      at: number;
    }
  /** A worker wrote to its pipe after pct was gone and died there, with no cleanup (SIGPIPE). */
  | { event: "task-sigpipe"; upid: string; pid: number; at: number };

/** Every `pct` call recorded on the node rooted at `root` (a killed call has only its start). */
export function readCalls(root: string): CallRecord[] {
  const file = simLayout(root).callsLog;
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as CallRecord);
}

/** The calls that started with `pct <command>`. */
export function startedCalls(root: string, command: string): Extract<CallRecord, { event: "start" }>[] {
  return readCalls(root).filter(
    (c): c is Extract<CallRecord, { event: "start" }> => c.event === "start" && c.argv[0] === command,
  );
}

/**
 * Replaces the node's fault rules (and resets their counters). Both files are replaced by a
 * rename, so a simulator running meanwhile reads the old or the new, never half or nothing.
 */
export function writeFaults(root: string, rules: readonly FaultRule[]): void {
  const layout: SimLayout = simLayout(root);
  mkdirSync(path.dirname(layout.faultsFile), { recursive: true });
  mkdirSync(layout.stateDir, { recursive: true });
  replaceFile(path.join(layout.stateDir, "fault-counters.json"), "{}");
  replaceFile(layout.faultsFile, JSON.stringify(rules, null, 2));
}

/** Removes every fault rule of the node. */
export function clearFaults(root: string): void {
  writeFaults(root, []);
}

/**
 * The task workers of the node rooted at `root` that still run: every UPID in the active
 * list whose pid lives with the UPID's start time (a worker outlives a killed `pct`).
 */
export function liveTaskWorkers(root: string): { upid: string; pid: number }[] {
  const file = simLayout(root).tasksActive;
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .flatMap((upid) => {
      const fields = decodeUpid(upid);
      return fields && processRunning(fields.pid, fields.pstart) ? [{ upid, pid: fields.pid }] : [];
    });
}
