import { randomUUID } from "node:crypto";
import type { RowDataPacket } from "mysql2/promise";
import { ResourceNotFoundError } from "../errors.js";
import { enqueueOperation } from "../operations/operation-repository.js";
import type { Queryable } from "../db/database.js";

/**
 * Turns a container toward deletion and returns the operation that does it. Deleting what is
 * already deleted or being deleted returns that delete's operation. A create that never
 * started is cancelled (nothing exists on the node); one that started is waited for by the
 * delete job, so no orphan is ever left behind.
 */
export async function requestDeletion(tx: Queryable, containerId: string, maxAttempts: number, now: Date): Promise<string> {
  const [containers] = await tx.query<RowDataPacket[]>("SELECT id, node, vmid, status FROM containers WHERE id = ? FOR UPDATE", [containerId]);
  const container = containers[0];
  if (!container) throw new ResourceNotFoundError(`container '${containerId}'`);
  const [deletes] = await tx.query<RowDataPacket[]>("SELECT id FROM operations WHERE container_id = ? AND kind = 'delete' AND status <> 'failed' ORDER BY created_at DESC LIMIT 1", [containerId]);
  if (deletes[0] && (container.status === "deleting" || container.status === "deleted")) return deletes[0].id as string;
  const [cancelled] = await tx.query("UPDATE operations SET status = 'cancelled', finished_at = ?, updated_at = ? WHERE container_id = ? AND kind = 'create' AND status = 'queued' AND attempts = 0", [now, now, containerId]);
  const neverStarted = (cancelled as { affectedRows: number }).affectedRows > 0;
  if (neverStarted) {
    // Nothing reached the node: the record ends here and its VMID and ports are free again.
    await tx.query("UPDATE containers SET desired_state = 'deleted', status = 'deleted', deleted_at = ?, updated_at = ? WHERE id = ?", [now, now, containerId]);
    await tx.query("DELETE FROM vmid_allocations WHERE container_id = ?", [containerId]);
    await tx.query("DELETE FROM port_allocations WHERE container_id = ?", [containerId]);
  } else {
    await tx.query("UPDATE containers SET desired_state = 'deleted', status = 'deleting', updated_at = ? WHERE id = ?", [now, containerId]);
  }
  const operationId = randomUUID();
  await enqueueOperation(tx, { id: operationId, containerId, node: container.node as string, kind: "delete", input: { vmid: container.vmid }, maxAttempts }, now);
  if (neverStarted) await tx.query("UPDATE operations SET status = 'succeeded', finished_at = ? WHERE id = ?", [now, operationId]);
  return operationId;
}
