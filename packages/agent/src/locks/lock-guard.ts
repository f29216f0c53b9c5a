import type { Clock, Logger } from "@lockstep/shared";
import { LockHeldError } from "../errors.js";
import type { EventBus } from "../events/event-bus.js";
import type { PctRunner } from "../pct/pct-runner.js";
import type { LockInspector } from "./lock-inspector.js";
import { describeHolder, type LockReportView } from "./lock-report.js";

export interface GuardPolicy {
  /** Re-inspections after the first; then LOCK_HELD. */
  readonly retries: number;
  readonly backoffMs: number;
  readonly backoffMaxMs: number;
  readonly unlockTimeoutMs: number;
}

/**
 * The pre-flight lock check every mutating operation runs before each attempt. FREE goes
 * on; STALE (a `lock:` left by a crash, nobody holding the flock, no task) is cleared
 * through `pct unlock` and logged; HELD waits with bounded exponential backoff, then fails
 * with LOCK_HELD naming the holder. A HELD lock is never cleared.
 */
export class LockGuard {
  constructor(
    private readonly node: string,
    private readonly inspector: LockInspector,
    private readonly pct: PctRunner,
    private readonly events: EventBus,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly policy: GuardPolicy,
  ) {}

  async ensureFree(vmid: number, options: { requestId?: string; signal?: AbortSignal } = {}): Promise<LockReportView> {
    let delay = this.policy.backoffMs;
    for (let attempt = 0; ; attempt++) {
      const report = this.inspector.inspect(vmid);
      if (report.verdict === "FREE") return report;
      if (report.verdict === "STALE") {
        await this.clearStale(report, options.requestId);
        continue;
      }
      if (attempt === 0) this.publish(vmid, "lock-detected", `lock held: ${describeHolder(report)}`, options.requestId);
      if (attempt >= this.policy.retries) {
        const detail = `CT ${vmid} is locked: ${describeHolder(report)}; gave up after ${attempt + 1} checks`;
        this.publish(vmid, "lock-blocked", detail, options.requestId);
        throw new LockHeldError(vmid, detail, holderMetadata(report));
      }
      await this.clock.sleep(delay, options.signal);
      delay = Math.min(delay * 2, this.policy.backoffMaxMs);
    }
  }

  /** Clears a STALE lock through `pct unlock`, which takes the flock itself. */
  async clearStale(report: LockReportView, requestId?: string): Promise<boolean> {
    const result = await this.pct.run(["unlock", String(report.vmid)], { timeoutMs: this.policy.unlockTimeoutMs });
    // Someone else cleared it between our look and pct's: the goal is reached either way.
    const cleared = result.exitCode === 0 || /no lock found/.test(result.stderr);
    if (!cleared) {
      this.logger.warn("pct unlock of a stale lock failed", { vmid: report.vmid, exitCode: result.exitCode, stderr: result.stderr.trim() });
      return false;
    }
    this.publish(report.vmid, "lock-cleared", `cleared stale config lock '${report.configLock}' (no kernel lock, no active task) via pct unlock`, requestId);
    return true;
  }

  private publish(vmid: number, kind: "lock-detected" | "lock-cleared" | "lock-blocked", detail: string, requestId?: string): void {
    this.events.publish({ atMs: this.clock.now(), node: this.node, vmid, kind, detail, requestId });
  }
}

function holderMetadata(report: LockReportView): Record<string, string> {
  const holder = report.holders[0];
  return holder ? { holder_pid: String(holder.pid), holder_cmdline: holder.cmdline } : report.activeTasks[0] ? { holder_task: report.activeTasks[0].upid } : {};
}
