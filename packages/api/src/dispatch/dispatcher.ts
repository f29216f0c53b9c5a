import type { RowDataPacket } from "mysql2/promise";
import { LockstepError, withLogFields, type Clock, type Logger } from "@lockstep/shared";
import type { AgentDirectory } from "../agents/agent-directory.js";
import { NodeInMaintenanceError } from "../errors.js";
import { recordIncident } from "../incidents/incident-log.js";
import type { PortRange } from "../allocation/allocate-ports.js";
import { allocateVmid, type VmidRange } from "../allocation/vmid-allocator.js";
import { ForeignVmidError, runJob, WaitForEarlierJobError } from "./job-handlers.js";
import type { ClaimedJob, JobStore } from "./job-store.js";
import { backoffMs, isRetryable } from "./retry-policy.js";
import type { Database } from "../db/database.js";
import { changeVmid, failCreate, startProvisioning } from "../lifecycle/container-lifecycle.js";
import { deferOperation, failOperation, retryOperation, succeedOperation } from "../lifecycle/operation-lifecycle.js";

export interface DispatcherOptions {
  readonly pollMs: number;
  readonly concurrency: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly leaseMs: number;
  readonly snapshotKeepLast: number;
  /** Ports of a container that moved to a node where others hold them are re-allocated here. */
  readonly ports: PortRange;
  /** Told of each job this dispatcher marks failed (the metrics count them). */
  readonly observer?: JobObserver;
}

/** What a dispatcher reports about the jobs it finishes. */
export interface JobObserver {
  failed(kind: string, code: string): void;
}

/** What a dispatcher works with. */
export interface DispatcherDeps {
  readonly pool: Database;
  readonly jobs: JobStore;
  readonly agents: AgentDirectory;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly options: DispatcherOptions;
  /** Where a create whose VMID a foreign guest took gets another. */
  readonly vmids: VmidRange;
}

/**
 * Runs queued jobs: claims a batch, calls the agents, records each outcome exactly once
 * (fenced by the lease), retries transient failures with bounded backoff, and marks a job
 * that exhausted its attempts failed with its reason: never left in limbo.
 */
export class Dispatcher {
  private timer: NodeJS.Timeout | null = null;
  private running = new Set<Promise<void>>();
  private stopped = false;

  private readonly pool: Database;
  private readonly jobs: JobStore;
  private readonly agents: AgentDirectory;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly options: DispatcherOptions;
  private readonly vmids: VmidRange;

  constructor(deps: DispatcherDeps) {
    ({
      pool: this.pool,
      jobs: this.jobs,
      agents: this.agents,
      clock: this.clock,
      logger: this.logger,
      options: this.options,
      vmids: this.vmids,
    } = deps);
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Wakes the loop now (after a commit that queued work), instead of at the next poll. */
  wake(): void {
    if (!this.stopped) this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.allSettled([...this.running]);
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    try {
      const room = this.options.concurrency - this.running.size;
      const jobs = room > 0 ? await this.jobs.claim(room) : [];
      for (const job of jobs) this.track(withLogFields({ jobId: job.id }, () => this.execute(job)));
    } catch (err) {
      this.logger.warn("claiming jobs failed; trying again", { err });
    }
    if (!this.stopped) this.schedule(this.options.pollMs);
  }

  private track(work: Promise<void>): void {
    this.running.add(work);
    void work.finally(() => this.running.delete(work));
  }

  private async execute(job: ClaimedJob): Promise<void> {
    const log = this.logger.child({
      jobId: job.id,
      kind: job.kind,
      containerId: job.containerId,
      attempt: job.attempts,
    });
    // A renewal that fails (the database restarting) is only logged: the job goes on, and if
    // the lease lapses meanwhile the fenced writes below notice it.
    const renew = () =>
      this.jobs.renew(job).catch((err: unknown) => log.warn("renewing the job's lease failed", { err }));
    const heartbeat = setInterval(() => void renew(), Math.max(1000, this.options.leaseMs / 3));
    try {
      if (job.kind === "create") await startProvisioning(this.pool, job.containerId, new Date(this.clock.now()));
      const outcome = await runJob(job, {
        db: this.pool,
        agents: this.agents,
        jobs: this.jobs,
        clock: this.clock,
        snapshotKeepLast: this.options.snapshotKeepLast,
        ports: this.options.ports,
      });
      const done = await this.jobs.finish(job, async (tx) => {
        const now = new Date(this.clock.now());
        await outcome.commit(tx, now);
        await succeedOperation(tx, job, outcome.result, now);
      });
      log.info(done ? "job succeeded" : "job finished after its lease was lost; the new owner records it");
    } catch (err) {
      // Recording can fail too (the database is down): the lease then lapses and the job is
      // claimed again, so nothing is lost; the error must not escape as an unhandled rejection.
      await this.recordFailure(job, err, log).catch((recordErr: unknown) =>
        log.error("recording the job's outcome failed; it runs again once its lease lapses", {
          err: recordErr,
          cause: err,
        }),
      );
    } finally {
      clearInterval(heartbeat);
    }
  }

  /**
   * Someone else's container holds the record's VMID: the VMID stays taken (as foreign, so
   * it is never handed out again), the record gets the next free one, and the job runs again.
   */
  private async moveOffForeignVmid(job: ClaimedJob, err: ForeignVmidError, log: Logger): Promise<void> {
    let next = 0;
    await this.jobs.finish(job, async (tx) => {
      const now = new Date(this.clock.now());
      await tx.query(
        "UPDATE vmid_allocations SET owner = 'foreign', container_id = NULL WHERE vmid = ? AND container_id = ?",
        [err.vmid, job.containerId],
      );
      next = await allocateVmid(tx, this.vmids, job.node, job.containerId, now);
      // A record that cannot take it must not keep a second allocation: nothing is written.
      if (!(await changeVmid(tx, job.containerId, next, now)))
        throw new LockstepError("FAILED_PRECONDITION", `record ${job.containerId} can no longer take another VMID`);
      await retryOperation(tx, job, { code: err.code, message: err.message }, now, now);
      await recordIncident(tx, {
        at: now,
        node: job.node,
        vmid: err.vmid,
        kind: "foreign-vmid",
        severity: "warning",
        detail: `VMID ${err.vmid} is held by a guest Lockstep did not make (${err.message}); record ${job.containerId} moves to VMID ${next}`,
        containerId: job.containerId,
        operationId: job.id,
      });
    });
    log.warn("VMID held by a foreign guest; moved to another", { vmid: err.vmid, next });
  }

  /** Queued again behind the job it waits for, or until its node leaves maintenance, with its attempt given back. */
  private async requeueWaiting(
    job: ClaimedJob,
    err: WaitForEarlierJobError | NodeInMaintenanceError,
    log: Logger,
  ): Promise<void> {
    await this.jobs.finish(job, async (tx) => {
      const now = new Date(this.clock.now());
      await deferOperation(tx, job, null, new Date(this.clock.now() + this.options.backoffBaseMs), now);
    });
    log.debug("job waits for an earlier one", { message: err.message });
  }

  /**
   * The agent's `pct` call was stopped but Proxmox's task worker goes on: the operation is
   * running, not failed. Queued again with its attempt given back (so it never fails for
   * it) and the same request ID, which the agent serializes behind that worker and then
   * answers from the node as it is: never a second create.
   */
  private async requeueStillRunning(job: ClaimedJob, err: LockstepError, log: Logger): Promise<void> {
    const error = { code: err.code, message: err.message };
    await this.jobs.finish(job, async (tx) => {
      const now = new Date(this.clock.now());
      await deferOperation(
        tx,
        job,
        error,
        new Date(this.clock.now() + backoffMs(job.attempts, this.options.backoffBaseMs, this.options.backoffMaxMs)),
        now,
      );
    });
    log.info("the agent reports the operation still running on the node; asking again later", {
      upid: err.metadata.upid,
    });
  }

  private async recordFailure(job: ClaimedJob, err: unknown, log: Logger): Promise<void> {
    if (err instanceof ForeignVmidError && job.attempts < job.maxAttempts)
      return this.moveOffForeignVmid(job, err, log);
    if (err instanceof WaitForEarlierJobError || err instanceof NodeInMaintenanceError)
      return this.requeueWaiting(job, err, log);
    if (err instanceof LockstepError && err.code === "OPERATION_RUNNING")
      return this.requeueStillRunning(job, err, log);
    const code = err instanceof LockstepError ? err.code : "INTERNAL";
    const error = { code, message: err instanceof Error ? err.message : String(err) };
    const retry = isRetryable(code) && job.attempts < job.maxAttempts;
    const recorded = await this.jobs.finish(job, async (tx) => {
      const now = new Date(this.clock.now());
      if (retry)
        return retryOperation(
          tx,
          job,
          error,
          new Date(this.clock.now() + backoffMs(job.attempts, this.options.backoffBaseMs, this.options.backoffMaxMs)),
          now,
        );
      await failOperation(tx, job, error, now);
      const [[asked]] = await tx.query<RowDataPacket[]>(
        "SELECT c.vmid, o.token_id FROM operations o JOIN containers c ON c.id = o.container_id WHERE o.id = ?",
        [job.id],
      );
      // A refusal by the node's own policy names the rule and the token that asked, like the API's.
      const rule = code === "PERMISSION_DENIED" ? (err as LockstepError).metadata.rule : undefined;
      const token = (asked?.token_id as string | null | undefined) ?? "none (Lockstep's own job)";
      await recordIncident(tx, {
        at: now,
        node: job.node,
        vmid: (asked?.vmid as number | undefined) ?? null,
        kind: rule ? "policy-refused" : "job-failed",
        severity: rule ? "warning" : "critical",
        detail: rule
          ? `token ${token}: the agent on ${job.node} refused this ${job.kind} by its node policy (rule ${rule}): ${error.message}`
          : `${job.kind} failed after ${job.attempts} attempt(s): ${code}: ${error.message}`,
        containerId: job.containerId,
        operationId: job.id,
      });
      if (job.kind === "create") await failCreate(tx, job.containerId, now);
    });
    if (recorded && !retry) this.options.observer?.failed(job.kind, code);
    log[retry ? "warn" : "error"](retry ? "job attempt failed; will retry" : "job failed", {
      code,
      message: error.message,
    });
  }
}
