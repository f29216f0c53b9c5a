import type { ResolvedSpec } from "@lockstep/shared";
import { freeAllocations } from "../allocation/free-allocations.js";
import { affectedRows, type Queryable } from "../db/database.js";

/**
 * A container record's states: pending (recorded, its create queued) → provisioning (its
 * create started) → running, or failed (the create gave up, or the container went missing);
 * any live state → deleting (its delete queued) → deleted (gone from every node, its VMID and
 * ports free). A create that never started is deleted at once. Every change of `containers`
 * is one of the named transitions below, each guarded by the states it may leave.
 */
export type ContainerStatus = "pending" | "provisioning" | "running" | "failed" | "deleting" | "deleted";

const LIVE = "status IN ('pending', 'provisioning', 'running', 'failed')";

/** A new record, pending, in the caller's transaction (with its VMID, ports and create job). */
export async function insertPendingContainer(
  tx: Queryable,
  c: {
    readonly id: string;
    readonly node: string;
    readonly vmid: number;
    readonly hostname: string;
    readonly spec: ResolvedSpec;
    /** The token that asked for it: its quota counts it, its policy judges it. */
    readonly tokenId?: string | null;
  },
  now: Date,
): Promise<void> {
  await tx.query(
    "INSERT INTO containers (id, node, vmid, hostname, spec, desired_state, status, created_at, updated_at, token_id) VALUES (?, ?, ?, ?, ?, 'running', 'pending', ?, ?, ?)",
    [c.id, c.node, c.vmid, c.hostname, JSON.stringify(c.spec), now, now, c.tokenId ?? null],
  );
}

/** pending → provisioning: its create's first attempt began. */
export async function startProvisioning(db: Queryable, id: string, now: Date): Promise<void> {
  await db.query("UPDATE containers SET status = 'provisioning', updated_at = ? WHERE id = ? AND status = 'pending'", [
    now,
    id,
  ]);
}

/** A live record → running: its create or apply converged on the node. */
export async function markRunning(tx: Queryable, id: string, now: Date): Promise<void> {
  await tx.query(
    `UPDATE containers SET status = 'running', observed_state = 'running', observed_at = ?, updated_at = ? WHERE id = ? AND ${LIVE}`,
    [now, now, id],
  );
}

/** pending or provisioning → failed: its create gave up. */
export async function failCreate(tx: Queryable, id: string, now: Date): Promise<void> {
  await tx.query(
    "UPDATE containers SET status = 'failed', updated_at = ? WHERE id = ? AND status IN ('pending', 'provisioning')",
    [now, id],
  );
}

/** running → failed: its container is gone from the node (a drift repair). True when it was running. */
export async function markMissing(tx: Queryable, id: string, now: Date): Promise<boolean> {
  const [result] = await tx.query(
    "UPDATE containers SET status = 'failed', updated_at = ? WHERE id = ? AND status = 'running'",
    [now, id],
  );
  return affectedRows(result) > 0;
}

/** A live record gets a new spec (an apply). False when it is being deleted or is deleted. */
export async function changeSpec(tx: Queryable, id: string, spec: ResolvedSpec, now: Date): Promise<boolean> {
  const [result] = await tx.query(
    `UPDATE containers SET spec = ?, hostname = ?, updated_at = ? WHERE id = ? AND ${LIVE}`,
    [JSON.stringify(spec), spec.hostname, now, id],
  );
  return affectedRows(result) > 0;
}

/** A live record → deleting: its delete is queued. */
export async function beginDeletion(tx: Queryable, id: string, now: Date): Promise<void> {
  await tx.query(
    `UPDATE containers SET desired_state = 'deleted', status = 'deleting', updated_at = ? WHERE id = ? AND ${LIVE}`,
    [now, id],
  );
}

/** A live record whose create never started → deleted: nothing reached a node, so its VMID and ports are free at once. */
export async function deleteUnstarted(tx: Queryable, id: string, now: Date): Promise<void> {
  const [result] = await tx.query(
    `UPDATE containers SET desired_state = 'deleted', status = 'deleted', deleted_at = ?, updated_at = ? WHERE id = ? AND ${LIVE}`,
    [now, now, id],
  );
  if (affectedRows(result) > 0) await freeAllocations(tx, id);
}

/** deleting → deleted: the container is confirmed gone from its cluster; only now are its VMID and ports free. */
export async function finishDeletion(tx: Queryable, id: string, now: Date): Promise<void> {
  const [result] = await tx.query(
    "UPDATE containers SET status = 'deleted', observed_state = 'absent', deleted_at = ?, updated_at = ? WHERE id = ? AND status = 'deleting'",
    [now, now, id],
  );
  if (affectedRows(result) > 0) await freeAllocations(tx, id);
}

/** The record follows its container to another node of its cluster (its VMID is the cluster's). */
export async function moveContainer(tx: Queryable, id: string, node: string, now: Date): Promise<void> {
  await tx.query("UPDATE containers SET node = ?, updated_at = ? WHERE id = ? AND status <> 'deleted'", [
    node,
    now,
    id,
  ]);
  await tx.query("UPDATE vmid_allocations SET node = ? WHERE container_id = ?", [node, id]);
}

/**
 * A record whose create has not made it takes another VMID (a foreign guest holds its own):
 * pending, provisioning, or deleting while its delete waits for that create. False when the
 * record is in no such state (nothing changed).
 */
export async function changeVmid(tx: Queryable, id: string, vmid: number, now: Date): Promise<boolean> {
  const [result] = await tx.query(
    "UPDATE containers SET vmid = ?, updated_at = ? WHERE id = ? AND status IN ('pending', 'provisioning', 'deleting')",
    [vmid, now, id],
  );
  return affectedRows(result) > 0;
}

/** What the node last showed of the container: running, stopped, absent. */
export async function recordObserved(tx: Queryable, id: string, state: string, now: Date): Promise<void> {
  await tx.query("UPDATE containers SET observed_state = ?, observed_at = ? WHERE id = ?", [state, now, id]);
}
