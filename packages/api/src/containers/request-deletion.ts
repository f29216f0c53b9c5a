import { randomUUID } from "node:crypto";
import type { RowDataPacket } from "mysql2/promise";
import type { Queryable } from "../db/database.js";
import { ResourceNotFoundError } from "../errors.js";
import { beginDeletion, deleteUnstarted } from "../lifecycle/container-lifecycle.js";
import { cancelUnstarted, enqueueOperation, recordFinishedDelete } from "../lifecycle/operation-lifecycle.js";

/**
 * Turns a container toward deletion and returns the operation that does it. Deleting what is
 * already deleted or being deleted returns that delete's operation. A create that never
 * started is cancelled with the applies queued behind it (nothing exists on the node, and
 * nothing will); one that started is waited for by the delete job, so no orphan is ever left
 * behind.
 */
export async function requestDeletion(
  tx: Queryable,
  containerId: string,
  maxAttempts: number,
  now: Date,
): Promise<string> {
  const [containers] = await tx.query<RowDataPacket[]>(
    "SELECT id, node, status FROM containers WHERE id = ? FOR UPDATE",
    [containerId],
  );
  const container = containers[0];
  if (!container) throw new ResourceNotFoundError(`container '${containerId}'`);
  const [deletes] = await tx.query<RowDataPacket[]>(
    "SELECT id FROM operations WHERE container_id = ? AND kind = 'delete' AND status <> 'failed' ORDER BY seq DESC LIMIT 1",
    [containerId],
  );
  if (deletes[0] && (container.status === "deleting" || container.status === "deleted")) return deletes[0].id as string;
  const operation = { id: randomUUID(), containerId, node: container.node as string, maxAttempts };
  if (await cancelUnstarted(tx, containerId, now)) {
    // Nothing reached the node: the record ends here and its VMID and ports are free again.
    await deleteUnstarted(tx, containerId, now);
    await recordFinishedDelete(tx, operation, now);
  } else {
    await beginDeletion(tx, containerId, now);
    await enqueueOperation(tx, { ...operation, kind: "delete" }, now);
  }
  return operation.id;
}
