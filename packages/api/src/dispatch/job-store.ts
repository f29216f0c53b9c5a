import type { RowDataPacket } from "mysql2/promise";
import type { Clock, StepRecord } from "@lockstep/shared";
import { jsonColumn, type Database, type Queryable } from "../db/database.js";
import {
  claimOperations,
  holdsAttempt,
  recordSteps,
  renewAttempt,
  type Attempt,
} from "../lifecycle/operation-lifecycle.js";

/** A claimed job: one attempt of an operation, leased to one dispatcher. */
export type ClaimedJob = Attempt;

/**
 * One dispatcher's hold on the `operations` table: it claims jobs under its own lease owner,
 * renews them, records their steps, and finishes them, each write fenced by the attempt
 * (lease owner and attempt number), so that a dispatcher that lost its lease cannot overwrite
 * the new one. The transitions themselves are the lifecycle's (lifecycle/operation-lifecycle.ts).
 */
export class JobStore {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly owner: string,
    private readonly leaseMs: number,
  ) {}

  async claim(limit: number): Promise<ClaimedJob[]> {
    return this.db.transaction((tx) =>
      claimOperations(tx, this.owner, this.leaseMs, limit, new Date(this.clock.now())),
    );
  }

  /** Extends the lease of a job still being worked on; false when it was lost. */
  async renew(job: ClaimedJob): Promise<boolean> {
    return renewAttempt(this.db, job, new Date(this.clock.now() + this.leaseMs));
  }

  /** The steps earlier attempts of a job recorded. */
  async steps(jobId: string): Promise<StepRecord[]> {
    const [rows] = await this.db.query<RowDataPacket[]>("SELECT steps FROM operations WHERE id = ?", [jobId]);
    const steps = rows[0]?.steps as unknown;
    return (jsonColumn(steps) as StepRecord[] | null) ?? [];
  }

  /** Records a job's steps while this attempt holds it; false when the lease was lost. */
  async recordSteps(job: ClaimedJob, steps: readonly StepRecord[]): Promise<boolean> {
    return recordSteps(this.db, job, steps, new Date(this.clock.now()));
  }

  /** Runs `work` in a transaction only while this attempt still holds the job; false when it does not. */
  async finish(job: ClaimedJob, work: (tx: Queryable) => Promise<void>): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      if (!(await holdsAttempt(tx, job))) return false;
      await work(tx);
      return true;
    });
  }
}
