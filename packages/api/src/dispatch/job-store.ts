import type { RowDataPacket } from "mysql2/promise";
import type { Clock, StepRecord } from "@lockstep/shared";
import type { Database, Queryable } from "../db/database.js";

/** A claimed job, leased to one dispatcher. */
export interface ClaimedJob {
  readonly id: string;
  readonly kind: string;
  readonly containerId: string;
  readonly node: string;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly input: Record<string, unknown>;
}

/**
 * Jobs in the `operations` table, claimed with row locks and a lease: `FOR UPDATE SKIP
 * LOCKED` lets several API processes claim side by side without waiting on each other, and a
 * job whose dispatcher died is claimed again once its lease lapses. Every later write is
 * fenced by the lease owner, so a dispatcher that lost its lease cannot overwrite the new one.
 * Jobs of a node in maintenance stay queued until it leaves maintenance.
 */
export class JobStore {
  constructor(private readonly pool: Database, private readonly clock: Clock, private readonly owner: string, private readonly leaseMs: number) {}

  async claim(limit: number): Promise<ClaimedJob[]> {
    return this.pool.transaction(async (conn) => {
      const now = new Date(this.clock.now());
      // A node in maintenance starts no job; one whose attempt was running (its dispatcher
      // died: the lease lapsed) is claimed again to finish that attempt.
      const [rows] = await conn.query<RowDataPacket[]>(
        `SELECT * FROM operations WHERE status IN ('queued', 'running') AND next_attempt_at <= ? AND (lease_expires_at IS NULL OR lease_expires_at < ?)
           AND (status = 'running' OR node IS NULL OR node NOT IN (SELECT name FROM nodes WHERE maintenance_since IS NOT NULL))
         ORDER BY next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED`,
        [now, now, limit],
      );
      for (const row of rows) {
        await conn.query("UPDATE operations SET status = 'running', attempts = attempts + 1, lease_owner = ?, lease_expires_at = ?, updated_at = ? WHERE id = ?", [this.owner, new Date(this.clock.now() + this.leaseMs), now, row.id]);
      }
      return rows.map((row) => ({
        id: row.id,
        kind: row.kind,
        containerId: row.container_id,
        node: row.node,
        attempts: (row.attempts as number) + 1,
        maxAttempts: row.max_attempts,
        input: typeof row.input === "string" ? JSON.parse(row.input) : row.input,
      }));
    });
  }

  /** Extends the lease of a job still being worked on; false when it was lost. */
  async renew(jobId: string): Promise<boolean> {
    const [result] = await this.pool.query("UPDATE operations SET lease_expires_at = ? WHERE id = ? AND lease_owner = ? AND status = 'running'", [new Date(this.clock.now() + this.leaseMs), jobId, this.owner]);
    return (result as { affectedRows: number }).affectedRows === 1;
  }

  /** The steps earlier attempts of a job recorded. */
  async steps(jobId: string): Promise<StepRecord[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>("SELECT steps FROM operations WHERE id = ?", [jobId]);
    const steps = rows[0]?.steps as unknown;
    return ((typeof steps === "string" ? JSON.parse(steps) : steps) as StepRecord[] | null) ?? [];
  }

  /** Records a job's steps while this dispatcher owns it; false when the lease was lost. */
  async recordSteps(jobId: string, steps: readonly StepRecord[]): Promise<boolean> {
    const [result] = await this.pool.query("UPDATE operations SET steps = ?, updated_at = ? WHERE id = ? AND lease_owner = ? AND status = 'running'", [JSON.stringify(steps), new Date(this.clock.now()), jobId, this.owner]);
    return (result as { affectedRows: number }).affectedRows === 1;
  }

  /** Runs `work` in a transaction only while this dispatcher still owns the job. */
  async finish(jobId: string, work: (tx: Queryable) => Promise<void>): Promise<boolean> {
    return this.pool.transaction(async (tx) => {
      const [rows] = await tx.query<RowDataPacket[]>("SELECT id FROM operations WHERE id = ? AND lease_owner = ? AND status = 'running' FOR UPDATE", [jobId, this.owner]);
      if (rows.length === 0) return false;
      await work(tx);
      return true;
    });
  }
}
