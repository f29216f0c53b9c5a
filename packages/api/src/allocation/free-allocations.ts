import type { Queryable } from "../db/database.js";

/** The container's VMID and ports, free again: its container is gone from every node, or never reached one. */
export async function freeAllocations(tx: Queryable, containerId: string): Promise<void> {
  await tx.query("DELETE FROM vmid_allocations WHERE container_id = ?", [containerId]);
  await tx.query("DELETE FROM port_allocations WHERE container_id = ?", [containerId]);
}
