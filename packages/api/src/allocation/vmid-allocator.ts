import type { RowDataPacket } from "mysql2/promise";
import { LockstepError } from "@lockstep/shared";
import type { Queryable } from "../db/database.js";

/** The configured range of VMIDs Lockstep may hand out. */
export interface VmidRange {
  readonly min: number;
  readonly max: number;
}

// Rows read per step of the search; the cursor usually sits on a free VMID, so one step ends it.
const CHUNK = 64;

/**
 * Takes a free VMID of the range for `containerId` inside the caller's transaction.
 * VMIDs are cluster-wide: one in use on any node (Lockstep's or a foreign container's) has a
 * row and is skipped. VMIDs go out in rising order from where the last allocation stopped and
 * wrap around at the end of the range, as Linux hands out PIDs: a deleted container's VMID,
 * and the backups, logs and firewall rules named after it, meet no new container until the
 * range has come round. The allocator row lock makes concurrent allocations take turns, and
 * the reads are locking reads, so they see every committed allocation.
 */
export async function allocateVmid(tx: Queryable, range: VmidRange, node: string, containerId: string, now: Date): Promise<number> {
  const [lock] = await tx.query<RowDataPacket[]>("SELECT next_vmid FROM allocator_locks WHERE name = 'vmid' FOR UPDATE");
  const cursor = lock[0]?.next_vmid as number | null | undefined;
  const start = cursor != null && cursor >= range.min && cursor <= range.max ? cursor : range.min;
  const vmid = (await firstFree(tx, start, range.max)) ?? (start > range.min ? await firstFree(tx, range.min, start - 1) : null);
  if (vmid === null) throw new LockstepError("RESOURCE_EXHAUSTED", `no free VMID left in ${range.min}..${range.max}`);
  await tx.query("INSERT INTO vmid_allocations (vmid, node, container_id, owner, allocated_at) VALUES (?, ?, ?, 'lockstep', ?)", [vmid, node, containerId, now]);
  await tx.query("UPDATE allocator_locks SET next_vmid = ? WHERE name = 'vmid'", [vmid + 1]);
  return vmid;
}

/** The lowest VMID in from..to that has no allocation, or null when every one is taken. */
async function firstFree(tx: Queryable, from: number, to: number): Promise<number | null> {
  let candidate = from;
  while (candidate <= to) {
    const [rows] = await tx.query<RowDataPacket[]>("SELECT vmid FROM vmid_allocations WHERE vmid BETWEEN ? AND ? ORDER BY vmid LIMIT ? FOR UPDATE", [candidate, to, CHUNK]);
    for (const row of rows) {
      if ((row.vmid as number) !== candidate) return candidate;
      candidate++;
    }
    if (rows.length < CHUNK) break;
  }
  return candidate <= to ? candidate : null;
}
