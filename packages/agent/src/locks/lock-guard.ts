import type { Clock, Logger } from "@lockstep/shared";
import { carriesOwnership } from "../containers/ownership.js";
import type { ClusterFs } from "../node/cluster-fs.js";
import { LockHeldError } from "../errors.js";
import type { EventBus } from "../events/event-bus.js";
import type { OperationScope } from "../pct/operation-scope.js";
import type { GateOptions } from "../pct/pct-mutation.js";
import type { PctRunner } from "../pct/pct-runner.js";
import type { LockInspector } from "./lock-inspector.js";
import { describeHolder, type LockReportView } from "./lock-report.js";

/** What the guard works with. */
export interface LockGuardDeps {
  readonly node: string;
  readonly inspector: LockInspector;
  readonly clusterFs: Pick<ClusterFs, "requireTrusted">;
  readonly pct: PctRunner;
  readonly events: EventBus;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly policy: GuardPolicy;
}

export interface GuardPolicy {
  /** Re-inspections after the first; then LOCK_HELD. */
  readonly retries: number;
  readonly backoffMs: number;
  readonly backoffMaxMs: number;
  readonly unlockTimeoutMs: number;
}

/**
 * The pre-flight lock check every mutating operation runs before each attempt. FREE goes
 * on. STALE is cleared through `pct unlock` only for a caller that acts for the container's
 * owner (its marker is on the container); anyone else waits like for a HELD lock. HELD
 * (a flock, a task that may own the value, an operator's lock, an unknown value, or a lock
 * still inside its grace period) waits with bounded exponential backoff, then fails with
 * LOCK_HELD naming the lock and what holds it. A HELD lock is never cleared. Before any of
 * it, /etc/pve must be trusted (mounted, quorate, answering): otherwise HYPERVISOR_UNRESPONSIVE
 * or CLUSTER_NO_QUORUM, and nothing runs.
 */
export class LockGuard {
  private readonly node: string;
  private readonly inspector: LockInspector;
  private readonly clusterFs: Pick<ClusterFs, "requireTrusted">;
  private readonly pct: PctRunner;
  private readonly events: EventBus;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly policy: GuardPolicy;

  constructor(deps: LockGuardDeps) {
    ({
      node: this.node,
      inspector: this.inspector,
      clusterFs: this.clusterFs,
      pct: this.pct,
      events: this.events,
      clock: this.clock,
      logger: this.logger,
      policy: this.policy,
    } = deps);
  }

  /** Returns once the lock is FREE (clearing a STALE one the caller may clear), or throws LOCK_HELD. */
  async ensureFree(vmid: number, options: GateOptions = {}): Promise<LockReportView> {
    return this.waitUntil(vmid, options, async (report) => {
      if (report.verdict === "FREE") return report;
      // Cleared: look again at once; a failed `pct unlock` waits like any other lock.
      return (await this.mayClear(report, options)) && (await this.clearStale(report, options.op)) ? "again" : null;
    });
  }

  /**
   * Waits while the lock is HELD and returns the first FREE or STALE report, clearing
   * nothing: for callers that judge what a stale lock's config holds before acting on it.
   */
  async settle(vmid: number, options: GateOptions = {}): Promise<LockReportView> {
    return this.waitUntil(vmid, options, async (report) => (report.verdict === "HELD" ? null : report));
  }

  /** Clears a STALE lock through `pct unlock`, which takes the flock itself. */
  async clearStale(report: LockReportView, op?: OperationScope): Promise<boolean> {
    // `pct unlock` removes whatever value is set (AbstractConfig.pm remove_lock without a
    // name); a new operation cannot have replaced it since we looked, because set_lock refuses
    // a config that is already locked (check_lock: `CT is locked`).
    const result = await this.pct.run(["unlock", String(report.vmid)], {
      timeoutMs: this.policy.unlockTimeoutMs,
      signal: op?.signal,
    });
    // Someone else cleared it between our look and pct's: the goal is reached either way.
    const cleared = result.exitCode === 0 || /no lock found/.test(result.stderr);
    if (!cleared) {
      this.logger.warn("pct unlock of a stale lock failed", {
        vmid: report.vmid,
        exitCode: result.exitCode,
        stderr: result.stderr.trim(),
      });
      return false;
    }
    this.publish(
      report.vmid,
      "lock-cleared",
      `cleared stale config lock '${report.configLock}' (${report.owner}) via pct unlock`,
      op?.requestId,
    );
    return true;
  }

  /**
   * A STALE lock on a container carrying the caller's marker, or the value the caller's own
   * failed call has just left (nothing owns it, so it is the caller's, grace period or not).
   */
  private async mayClear(report: LockReportView, options: GateOptions): Promise<boolean> {
    if (
      options.leftover &&
      report.configLock === options.leftover &&
      (report.ownerKind === "NONE" || report.ownerKind === "GRACE")
    )
      return true;
    if (report.verdict !== "STALE" || !options.owner) return false;
    const main = await this.inspector.mainSection(report.vmid);
    return main !== null && carriesOwnership(main, options.owner);
  }

  /**
   * Inspects until `step` returns a report, within the retry bound; "again" re-inspects at once.
   * A lock inside its grace period becomes STALE (or owned) at a known time: that wait is
   * taken whole and is not one of the retries.
   */
  private async waitUntil(
    vmid: number,
    options: GateOptions,
    step: (report: LockReportView) => Promise<LockReportView | "again" | null>,
  ): Promise<LockReportView> {
    let delay = this.policy.backoffMs;
    let announced = false;
    // Nothing is changed on a node whose /etc/pve is hung, unmounted or read-only.
    await this.clusterFs.requireTrusted(`change CT ${vmid}`);
    for (let attempt = 0; ;) {
      const report = await this.inspector.inspect(vmid);
      const result = await step(report);
      if (result === "again" && attempt < this.policy.retries) {
        attempt++;
        continue;
      }
      if (result && result !== "again") return result;
      if (!announced)
        this.publish(
          vmid,
          "lock-detected",
          `lock ${report.verdict === "STALE" ? "stale" : "held"}: ${describe(report, options)}`,
          options.op?.requestId,
        );
      announced = true;
      if (report.ownerKind === "GRACE") {
        await this.clock.sleep(Math.max(1, this.inspector.staleAtMs(report) - this.clock.now()), options.op?.signal);
        continue;
      }
      if (attempt >= this.policy.retries) {
        const detail = `CT ${vmid} is locked: ${describe(report, options)}; gave up after ${attempt + 1} checks`;
        this.publish(vmid, "lock-blocked", detail, options.op?.requestId);
        throw new LockHeldError(vmid, detail, holderMetadata(report));
      }
      await this.clock.sleep(delay, options.op?.signal);
      delay = Math.min(delay * 2, this.policy.backoffMaxMs);
      attempt++;
    }
  }

  private publish(
    vmid: number,
    kind: "lock-detected" | "lock-cleared" | "lock-blocked",
    detail: string,
    requestId?: string,
  ): void {
    this.events.publish({ atMs: this.clock.now(), node: this.node, vmid, kind, detail, requestId });
  }
}

function describe(report: LockReportView, options: GateOptions): string {
  const holder = describeHolder(report);
  if (report.verdict !== "STALE") return holder;
  return `${holder}; stale, but not cleared: ${options.owner ? "the container does not carry this request's ownership marker" : "the operation acts for no owner"}`;
}

function holderMetadata(report: LockReportView): Record<string, string> {
  const base = { config_lock: report.configLock, owner_kind: report.ownerKind };
  const holder = report.holders[0];
  if (holder) return { ...base, holder_pid: String(holder.pid), holder_cmdline: holder.cmdline };
  return report.activeTasks[0] ? { ...base, holder_task: report.activeTasks[0].upid } : base;
}
