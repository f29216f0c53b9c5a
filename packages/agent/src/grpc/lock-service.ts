import { agentV1 } from "@lockstep/shared";
import type { LockService } from "./ports.js";
import type { ClusterFs } from "../node/cluster-fs.js";
import type { ProcReader } from "../proc/proc-reader.js";
import { clearLock } from "../locks/lock-clearer.js";
import type { LockGuard } from "../locks/lock-guard.js";
import type { LockInspector } from "../locks/lock-inspector.js";
import type { LockOwnerKind, LockReportView } from "../locks/lock-report.js";

const VERDICTS = { FREE: agentV1.LockVerdict.FREE, HELD: agentV1.LockVerdict.HELD, STALE: agentV1.LockVerdict.STALE };
const OWNER_KINDS: Record<LockOwnerKind, agentV1.LockOwnerKind> = {
  NONE: agentV1.LockOwnerKind.NONE,
  FLOCK: agentV1.LockOwnerKind.FLOCK,
  TASK: agentV1.LockOwnerKind.TASK,
  GRACE: agentV1.LockOwnerKind.GRACE,
  OPERATOR: agentV1.LockOwnerKind.OPERATOR,
  UNKNOWN_VALUE: agentV1.LockOwnerKind.UNKNOWN_VALUE,
};

/** A lock report as the contract carries it. */
export function lockReportToProto(r: LockReportView): agentV1.LockReport {
  return {
    node: r.node,
    vmid: r.vmid,
    path: r.path,
    fileExists: r.fileExists,
    kernelLocked: r.kernelLocked,
    recordedPid: r.recordedPid,
    recordedPidAlive: r.recordedPidAlive,
    holders: r.holders.map((h) => ({
      pid: h.pid,
      cmdline: h.cmdline,
      startedMs: Math.round(h.startedMs),
      state: h.state,
    })),
    configLock: r.configLock,
    activeTasks: r.activeTasks,
    verdict: VERDICTS[r.verdict],
    inspectedAtMs: r.inspectedAtMs,
    ownerKind: OWNER_KINDS[r.ownerKind],
    owner: r.owner,
    unownedSinceMs: r.unownedSinceMs,
    otherKernelLocks: r.otherKernelLocks.map((l) => ({ kind: l.kind, mode: l.mode, pid: l.pid })),
    migrationLock: r.migrationLock,
  };
}

/** The gRPC layer's view of locks/. */
export function createLockService(
  inspector: LockInspector,
  guard: LockGuard,
  proc: ProcReader,
  clusterFs: Pick<ClusterFs, "requireTrusted">,
): LockService {
  return {
    inspect: async (vmid) => lockReportToProto(await inspector.inspect(vmid)),
    clear: async (vmid, removeFile, op) => {
      const out = await clearLock({ inspector, guard, proc, clusterFs }, vmid, removeFile, op);
      return {
        cleared: out.cleared,
        previousLock: out.previousLock,
        fileRemoved: out.fileRemoved,
        report: lockReportToProto(out.report),
      };
    },
  };
}
