import type { RowDataPacket } from "mysql2/promise";
import type { ResolvedSpec, StepRecord } from "@lockstep/shared";
import { affectedRows, jsonColumn, type Database, type Queryable } from "../db/database.js";

/** What an operation does to its container. */
export type OperationKind = "create" | "apply" | "delete";

/**
 * An operation's states: queued → running (claimed, one attempt under a lease) → succeeded or
 * failed; running → queued again (a retry later, or a wait that gives its attempt back); a
 * create never started, and the jobs queued behind it → cancelled by its delete. Every change of `operations` is one of the
 * named transitions below, each guarded by the state it leaves (and a running attempt's by its
 * lease owner and attempt number, its fencing token): a write from a dispatcher that lost its
 * lease changes nothing.
 */
export type OperationStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled";

/** A claimed attempt of an operation, and the fence its writes carry. */
export interface Attempt {
  readonly id: string;
  readonly kind: OperationKind;
  readonly containerId: string;
  readonly node: string;
  /** This attempt's number: with the owner, the token a taken-over attempt no longer matches. */
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly owner: string;
  /** The spec a create or apply asked for (the container's record keeps its VMID). */
  readonly spec: ResolvedSpec | null;
}

/** A reason an attempt stopped, as stored on the operation. */
export interface OperationError {
  readonly code: string;
  readonly message: string;
}

const FENCE = "id = ? AND status = 'running' AND lease_owner = ? AND attempts = ?";
const fence = (a: Attempt) => [a.id, a.owner, a.attempts];
const RELEASED = "lease_owner = NULL, lease_expires_at = NULL";

/** Queues an operation in the caller's transaction: it commits with the record it works on. */
export async function enqueueOperation(
  tx: Queryable,
  op: {
    readonly id: string;
    readonly containerId: string;
    readonly node: string;
    readonly kind: OperationKind;
    readonly spec?: ResolvedSpec;
    readonly maxAttempts: number;
    /** The token that asked for it; none when Lockstep itself did (a reconcile repair). */
    readonly tokenId?: string | null;
  },
  now: Date,
): Promise<void> {
  await tx.query(
    "INSERT INTO operations (id, container_id, node, kind, status, attempts, max_attempts, next_attempt_at, input, steps, created_at, updated_at, token_id) VALUES (?, ?, ?, ?, 'queued', 0, ?, ?, ?, '[]', ?, ?, ?)",
    [
      op.id,
      op.containerId,
      op.node,
      op.kind,
      op.maxAttempts,
      now,
      JSON.stringify(op.spec ? { spec: op.spec } : {}),
      now,
      now,
      op.tokenId ?? null,
    ],
  );
}

/** A delete whose container never reached a node: done as it is recorded. */
export async function recordFinishedDelete(
  tx: Queryable,
  op: { readonly id: string; readonly containerId: string; readonly node: string; readonly maxAttempts: number },
  now: Date,
): Promise<void> {
  await tx.query(
    "INSERT INTO operations (id, container_id, node, kind, status, attempts, max_attempts, next_attempt_at, input, steps, created_at, updated_at, finished_at) VALUES (?, ?, ?, 'delete', 'succeeded', 0, ?, ?, '{}', '[]', ?, ?, ?)",
    [op.id, op.containerId, op.node, op.maxAttempts, now, now, now, now],
  );
}

/**
 * Claims up to `limit` operations due now for `owner`: queued ones, and running ones whose
 * dispatcher's lease lapsed. `FOR UPDATE SKIP LOCKED` lets several API processes claim side by
 * side. A node in maintenance starts nothing; an attempt that was running there (its
 * dispatcher died) is claimed again to finish.
 */
export async function claimOperations(
  tx: Queryable,
  owner: string,
  leaseMs: number,
  limit: number,
  now: Date,
): Promise<Attempt[]> {
  const [rows] = await tx.query<RowDataPacket[]>(
    `SELECT * FROM operations WHERE status IN ('queued', 'running') AND next_attempt_at <= ? AND (lease_expires_at IS NULL OR lease_expires_at < ?)
       AND (status = 'running' OR node IS NULL OR node NOT IN (SELECT name FROM nodes WHERE maintenance_since IS NOT NULL))
     ORDER BY next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED`,
    [now, now, limit],
  );
  const expires = new Date(now.getTime() + leaseMs);
  for (const row of rows)
    await tx.query(
      "UPDATE operations SET status = 'running', attempts = attempts + 1, started_at = COALESCE(started_at, ?), lease_owner = ?, lease_expires_at = ?, updated_at = ? WHERE id = ?",
      [now, owner, expires, now, row.id],
    );
  return rows.map((row) => {
    const input = jsonColumn(row.input) as { spec?: ResolvedSpec } | null;
    return {
      id: row.id,
      kind: row.kind,
      containerId: row.container_id,
      node: row.node,
      attempts: (row.attempts as number) + 1,
      maxAttempts: row.max_attempts,
      owner,
      spec: input?.spec ?? null,
    };
  });
}

/** Extends a running attempt's lease; false when it was lost. */
export async function renewAttempt(db: Database, attempt: Attempt, expires: Date): Promise<boolean> {
  const [result] = await db.query(`UPDATE operations SET lease_expires_at = ? WHERE ${FENCE}`, [
    expires,
    ...fence(attempt),
  ]);
  return affectedRows(result) > 0;
}

/** Records the steps of a running attempt; false when its lease was lost. */
export async function recordSteps(
  db: Database,
  attempt: Attempt,
  steps: readonly StepRecord[],
  now: Date,
): Promise<boolean> {
  const [result] = await db.query(`UPDATE operations SET steps = ?, updated_at = ? WHERE ${FENCE}`, [
    JSON.stringify(steps),
    now,
    ...fence(attempt),
  ]);
  return affectedRows(result) > 0;
}

/** Whether the attempt still holds its operation, row-locked in the caller's transaction. */
export async function holdsAttempt(tx: Queryable, attempt: Attempt): Promise<boolean> {
  const [rows] = await tx.query<RowDataPacket[]>(`SELECT id FROM operations WHERE ${FENCE} FOR UPDATE`, fence(attempt));
  return rows.length === 1;
}

/** running → succeeded, with what changed on the node. */
export async function succeedOperation(tx: Queryable, attempt: Attempt, result: unknown, now: Date): Promise<void> {
  await tx.query(
    `UPDATE operations SET status = 'succeeded', result = ?, error = NULL, finished_at = ?, updated_at = ?, ${RELEASED} WHERE ${FENCE}`,
    [JSON.stringify(result), now, now, ...fence(attempt)],
  );
}

/** running → queued: the attempt failed in a way worth another, at `next`. */
export async function retryOperation(
  tx: Queryable,
  attempt: Attempt,
  error: OperationError,
  next: Date,
  now: Date,
): Promise<void> {
  await tx.query(
    `UPDATE operations SET status = 'queued', error = ?, next_attempt_at = ?, updated_at = ?, ${RELEASED} WHERE ${FENCE}`,
    [JSON.stringify(error), next, now, ...fence(attempt)],
  );
}

/**
 * running → queued with the attempt given back: it did not fail, it must wait (an earlier job
 * of its container, its node in maintenance, a task worker still running on the node, a VMID
 * to move off). `error` says why, or null to keep the last one.
 */
export async function deferOperation(
  tx: Queryable,
  attempt: Attempt,
  error: OperationError | null,
  next: Date,
  now: Date,
): Promise<void> {
  await tx.query(
    `UPDATE operations SET status = 'queued', attempts = attempts - 1, error = COALESCE(?, error), next_attempt_at = ?, updated_at = ?, ${RELEASED} WHERE ${FENCE}`,
    [error && JSON.stringify(error), next, now, ...fence(attempt)],
  );
}

/** running → failed, for good. */
export async function failOperation(tx: Queryable, attempt: Attempt, error: OperationError, now: Date): Promise<void> {
  await tx.query(
    `UPDATE operations SET status = 'failed', error = ?, finished_at = ?, updated_at = ?, ${RELEASED} WHERE ${FENCE}`,
    [JSON.stringify(error), now, now, ...fence(attempt)],
  );
}

/**
 * A container whose create never started (queued, never claimed) and that no job is working
 * on: its create and every job queued behind it (an apply waits for the create) → cancelled,
 * and true. False, with nothing changed, when any of it started: the delete must then wait
 * for them. The jobs are found by a plain read and locked by their primary keys, where the
 * claim's SKIP LOCKED passes them by: a locking scan of the container's index range would lock
 * the gaps beside it, where other containers' deletes insert their jobs (they deadlocked).
 */
export async function cancelUnstarted(tx: Queryable, containerId: string, now: Date): Promise<boolean> {
  const [found] = await tx.query<RowDataPacket[]>("SELECT id FROM operations WHERE container_id = ?", [containerId]);
  if (found.length === 0) return false;
  const [jobs] = await tx.query<RowDataPacket[]>(
    "SELECT id, kind, status, started_at FROM operations WHERE id IN (?) FOR UPDATE",
    [found.map((o) => o.id as string)],
  );
  const create = jobs.find((o) => o.kind === "create");
  // Ever claimed, not its attempt count: a deferred attempt is given back (deferOperation),
  // and a create claimed once may have made its container.
  if (create?.status !== "queued" || create.started_at !== null || jobs.some((o) => o.status === "running"))
    return false;
  const queued = jobs.filter((o) => o.status === "queued").map((o) => o.id as string);
  await tx.query(
    "UPDATE operations SET status = 'cancelled', finished_at = ?, updated_at = ? WHERE id IN (?) AND status = 'queued'",
    [now, now, queued],
  );
  return true;
}

/** The container's queued and running operations follow it to the node it moved to. */
export async function moveOperations(tx: Queryable, containerId: string, node: string): Promise<void> {
  await tx.query("UPDATE operations SET node = ? WHERE container_id = ? AND status IN ('queued', 'running')", [
    node,
    containerId,
  ]);
}

/**
 * The node's queued operations waiting out a backoff are due now: the node answers again,
 * and what failed while it was away need not wait up to a minute more. Returns how many.
 */
export async function wakeNodeOperations(db: Database, node: string, now: Date): Promise<number> {
  const [result] = await db.query(
    "UPDATE operations SET next_attempt_at = ?, updated_at = ? WHERE node = ? AND status = 'queued' AND next_attempt_at > ?",
    [now, now, node, now],
  );
  return affectedRows(result);
}
