import { stat } from "node:fs/promises";
import path from "node:path";
import type { Clock } from "@lockstep/shared";
import type { ClusterFs } from "../node/cluster-fs.js";
import { parseContainerConfig, type ConfigSection } from "../node/container-config.js";
import { lockFilePath, migrationLockPath, type NodePaths } from "../node/node-paths.js";
import { devToMajorMinor, parseProcLocks, type KernelLock } from "../proc/proc-locks.js";
import type { ProcReader } from "../proc/proc-reader.js";
import { liveTasks } from "./active-tasks.js";
import { FlockHolderScan, sameFile, type FileId } from "./flock-holders.js";
import { lockOwnership, owningTasks } from "./lock-owners.js";
import type { ActiveTaskView, LockOwnerKind, LockReportView, LockVerdict, MigrationLockView } from "./lock-report.js";

interface Judgement {
  readonly verdict: LockVerdict;
  readonly ownerKind: LockOwnerKind;
  readonly owner: string;
  readonly unownedSinceMs: number;
}

/** What the inspector reads. */
export interface LockInspectorDeps {
  readonly node: string;
  readonly paths: NodePaths;
  readonly proc: ProcReader;
  /** The container configs' only way in: a hung /etc/pve fails the inspection, never the agent. */
  readonly clusterFs: Pick<ClusterFs, "readFile">;
  readonly clock: Clock;
  /** How long a `lock:` must stay without any possible owner before it is STALE. */
  readonly staleGraceMs: number;
}

/**
 * Reports who holds a container's config lock and whether anything can own its `lock:`
 * value. Only a FLOCK on the lock file blocks `pct` (pve-common Tools.pm lock_file_full uses
 * flock(2)); POSIX and OFD locks are reported beside it. Holders come from the kernel's view
 * (/proc/locks by device and inode) and from every process sharing the locked open file
 * description (fdinfo `lock:` lines), because the PID /proc/locks names can be dead when a
 * child inherited the descriptor. A value is STALE only when the owner table says its
 * operation always holds the flock or a live task, neither exists, and that has lasted the
 * whole grace period as this inspector saw it (a create's placeholder has neither for a few
 * milliseconds, between the pct process's flock and its worker's listed task).
 */
export class LockInspector {
  private readonly unowned = new Map<number, { lock: string; sinceMs: number }>();
  private readonly holderScan: FlockHolderScan;

  private readonly node: string;
  private readonly paths: NodePaths;
  private readonly proc: ProcReader;
  private readonly clusterFs: Pick<ClusterFs, "readFile">;
  private readonly clock: Clock;
  private readonly staleGraceMs: number;

  constructor(deps: LockInspectorDeps) {
    ({
      node: this.node,
      paths: this.paths,
      proc: this.proc,
      clusterFs: this.clusterFs,
      clock: this.clock,
      staleGraceMs: this.staleGraceMs,
    } = deps);
    this.holderScan = new FlockHolderScan(this.proc);
  }

  async inspect(vmid: number): Promise<LockReportView> {
    const file = lockFilePath(this.paths, vmid);
    const id = await fileId(file);
    const kernelLocks = parseProcLocks(await this.proc.locks()).filter((l) => !l.waiting);
    const onFile = id ? kernelLocks.filter((l) => sameFile(l, id)) : [];
    const flocks = onFile.filter((l) => l.kind === "FLOCK");
    const recordedPid = flocks[0]?.pid ?? 0;
    const holders = id && flocks.length > 0 ? await this.holderScan.holders(file, id) : [];
    const configLock = await this.configLock(vmid);
    const tasks = await liveTasks(this.paths.tasksActive, this.proc);
    const owners = configLock ? owningTasks(configLock, vmid, tasks) : [];
    const reported = uniqueTasks([...tasks.filter((t) => t.id === String(vmid)), ...owners]);
    const judgement = this.judge(vmid, configLock, flocks.length > 0, owners);
    return {
      node: this.node,
      vmid,
      path: file,
      fileExists: id !== null,
      kernelLocked: flocks.length > 0,
      recordedPid,
      recordedPidAlive: recordedPid > 0 && (await this.proc.process(recordedPid)) !== null,
      holders,
      configLock,
      activeTasks: reported,
      ...judgement,
      otherKernelLocks: onFile.filter((l) => l.kind !== "FLOCK"),
      migrationLock: await this.migrationLock(vmid, kernelLocks),
      inspectedAtMs: this.clock.now(),
    };
  }

  private judge(vmid: number, configLock: string, flocked: boolean, owners: ActiveTaskView[]): Judgement {
    const now = this.clock.now();
    const owned = (verdict: LockVerdict, ownerKind: LockOwnerKind, owner: string): Judgement => {
      this.unowned.delete(vmid);
      return { verdict, ownerKind, owner, unownedSinceMs: 0 };
    };
    if (flocked) return owned("HELD", "FLOCK", "a process holds the flock on the config lock file");
    if (!configLock) return owned("FREE", "NONE", "");
    const entry = lockOwnership(configLock);
    if (!entry)
      return owned("HELD", "UNKNOWN_VALUE", "is a value the agent has no owner table for; it is never judged stale");
    if (entry.kind === "operator") return owned("HELD", "OPERATOR", `is an operator's: ${entry.why}`);
    const task = owners[0];
    if (task)
      return owned(
        "HELD",
        "TASK",
        `held by task ${task.type} pid ${task.pid} (${task.upid}) for ${seconds(now - task.startedMs)}s`,
      );
    const seen = this.unowned.get(vmid);
    const sinceMs = seen?.lock === configLock ? seen.sinceMs : now;
    this.unowned.set(vmid, { lock: configLock, sinceMs });
    if (now - sinceMs < this.staleGraceMs) {
      return {
        verdict: "HELD",
        ownerKind: "GRACE",
        owner: `has had no flock and no task that could own it for ${seconds(now - sinceMs)}s; it is stale only after ${seconds(this.staleGraceMs)}s`,
        unownedSinceMs: sinceMs,
      };
    }
    return {
      verdict: "STALE",
      ownerKind: "NONE",
      owner: `no flock and no task that could own it for ${seconds(now - sinceMs)}s`,
      unownedSinceMs: sinceMs,
    };
  }

  /** When a lock inside its grace period turns STALE, if nothing owns it meanwhile. */
  staleAtMs(report: LockReportView): number {
    return report.unownedSinceMs + this.staleGraceMs;
  }

  private async migrationLock(vmid: number, kernelLocks: readonly KernelLock[]): Promise<MigrationLockView> {
    const file = migrationLockPath(this.paths, vmid);
    const id = await fileId(file);
    const lock = id ? kernelLocks.find((l) => l.kind === "FLOCK" && sameFile(l, id)) : undefined;
    if (!lock) return { path: file, locked: false, pid: 0, cmdline: "" };
    return { path: file, locked: true, pid: lock.pid, cmdline: (await this.proc.process(lock.pid))?.cmdline ?? "" };
  }

  /**
   * The container's main config section, null when it has no config (which only a trusted
   * /etc/pve can say; otherwise the cluster filesystem's error).
   */
  async mainSection(vmid: number): Promise<ConfigSection | null> {
    const text = await this.clusterFs.readFile(path.join(this.paths.configDir, `${vmid}.conf`));
    return text === null ? null : parseContainerConfig(text).main;
  }

  private async configLock(vmid: number): Promise<string> {
    return (await this.mainSection(vmid))?.values.lock ?? "";
  }
}

// The lock files are on the node's own /run/lock, never on pmxcfs.
/** A file's device numbers and inode as /proc/locks names them; null when it cannot be stat'ed. */
export async function fileId(file: string): Promise<FileId | null> {
  try {
    const st = await stat(file, { bigint: true });
    return { ...devToMajorMinor(st.dev), inode: Number(st.ino) };
  } catch {
    return null;
  }
}

function uniqueTasks(tasks: ActiveTaskView[]): ActiveTaskView[] {
  return tasks.filter((task, i) => tasks.findIndex((t) => t.upid === task.upid) === i);
}

function seconds(ms: number): number {
  return Math.max(0, Math.round(ms / 1000));
}
