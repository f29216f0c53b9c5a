import type { PoolConnection, RowDataPacket } from "mysql2/promise";
import { LockstepError } from "@lockstep/shared";

/** The configured range of VMIDs Lockstep may hand out. */
export interface VmidRange {
  readonly min: number;
  readonly max: number;
}

/**
 * Takes the lowest free VMID of the range for `containerId` inside the caller's transaction.
 * VMIDs are cluster-wide: one in use on any node (Lockstep's or a foreign container's) has a
 * row and is skipped. The allocator row lock makes concurrent allocations take turns, and
 * the reads below are locking reads, so they see every committed allocation.
 */
export async function allocateVmid(tx: PoolConnection, range: VmidRange, node: string, containerId: string, now: Date): Promise<number> {
  await tx.query("SELECT name FROM allocator_locks WHERE name = 'vmid' FOR UPDATE");
  const [rows] = await tx.query<RowDataPacket[]>("SELECT vmid FROM vmid_allocations WHERE vmid BETWEEN ? AND ? ORDER BY vmid FOR UPDATE", [range.min, range.max]);
  let candidate = range.min;
  for (const row of rows) {
    if ((row.vmid as number) !== candidate) break;
    candidate++;
  }
  if (candidate > range.max) throw new LockstepError("RESOURCE_EXHAUSTED", `no free VMID left in ${range.min}..${range.max}`);
  await tx.query("INSERT INTO vmid_allocations (vmid, node, container_id, owner, allocated_at) VALUES (?, ?, ?, 'lockstep', ?)", [candidate, node, containerId, now]);
  return candidate;
}
