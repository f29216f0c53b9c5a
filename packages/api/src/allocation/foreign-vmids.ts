import type { Queryable } from "../db/database.js";

/** A VMID held by a guest Lockstep did not make, and the node that holds it. */
export interface ForeignGuest {
  readonly vmid: number;
  readonly node: string;
}

/**
 * Records VMIDs that someone else's guests hold (foreign containers, QEMU VMs) so that the
 * allocator never hands them out: VMIDs are one space for the whole cluster (pve-cluster
 * src/PVE/Cluster.pm, check_vmid_unused refuses a create on a VM's VMID as on a CT's).
 * A VMID Lockstep has already allocated keeps its row: a create that meets the guest moves
 * to another VMID (the dispatcher's ForeignVmidError path).
 */
export async function recordForeignVmids(db: Queryable, guests: readonly ForeignGuest[], now: Date): Promise<void> {
  if (guests.length === 0) return;
  const rows = guests.map((g) => [g.vmid, g.node, null, "foreign", now]);
  await db.query("INSERT IGNORE INTO vmid_allocations (vmid, node, container_id, owner, allocated_at) VALUES ?", [
    rows,
  ]);
}
