import type { RowDataPacket } from "mysql2/promise";
import { LockstepError } from "@lockstep/shared";
import type { Queryable } from "../db/database.js";
import { duplicateKey } from "../db/database-failure.js";

/** The configured range of VMIDs Lockstep may hand out. */
export interface VmidRange {
  readonly min: number;
  readonly max: number;
}

// VMIDs put in the pool per refill.
const POOL_CHUNK = 128;
// A create that leaves fewer than this in the pool refills it: enough that creates in flight
// never find every pooled row locked (which would make them scan to the table's end, whose
// gap lock then blocks the refill's inserts).
const LOW_WATER = 64;
// Allocations read per step while looking for free VMIDs.
const READ_STEP = 256;

/**
 * Takes a free VMID of the range for `containerId` inside the caller's transaction.
 * VMIDs are cluster-wide: one in use on any node (Lockstep's or a foreign guest's) has a row
 * in `vmid_allocations`, whose primary key is the guarantee that no two holders share one.
 * VMIDs go out in rising order from where the last allocation stopped and wrap around at the
 * end of the range, as Linux hands out PIDs: a deleted container's VMID, and the backups,
 * logs and firewall rules named after it, meet no new container until the range has come
 * round. Concurrent creates claim VMIDs from `vmid_pool` with SKIP LOCKED, so they do not
 * take turns; a VMID someone took after it entered the pool is dropped and the next taken.
 */
export async function allocateVmid(
  tx: Queryable,
  range: VmidRange,
  node: string,
  containerId: string,
  now: Date,
): Promise<number> {
  for (;;) {
    const vmid = await takeVmid(tx, range);
    try {
      await tx.query(
        "INSERT INTO vmid_allocations (vmid, node, container_id, owner, allocated_at) VALUES (?, ?, ?, 'lockstep', ?)",
        [vmid, node, containerId, now],
      );
      return vmid;
    } catch (err) {
      // A foreign guest recorded since the refill: its pool row is gone with this claim.
      if (duplicateKey(err) !== "PRIMARY") throw err;
    }
  }
}

/**
 * A VMID out of the pool. Only an empty pool makes a create wait for the allocator's row,
 * which the refiller holds until it commits; a create that leaves the pool low tops it up
 * unless another is doing so.
 */
async function takeVmid(tx: Queryable, range: VmidRange): Promise<number> {
  const pooled = await claimPooled(tx, range);
  if (pooled) {
    if (pooled.left < LOW_WATER) await topUp(tx, range);
    return pooled.vmid;
  }
  const [lock] = await tx.query<RowDataPacket[]>(
    "SELECT next_vmid FROM allocator_locks WHERE name = 'vmid' FOR UPDATE",
  );
  // Another create may have refilled the pool while this one waited.
  const refilled =
    (await claimPooled(tx, range)) ??
    ((await addFree(tx, range, lock[0]!.next_vmid as number | null)) ? await claimPooled(tx, range) : null);
  // Nothing free, or every free VMID is being claimed by another create right now.
  if (!refilled) throw new LockstepError("RESOURCE_EXHAUSTED", `no free VMID left in ${range.min}..${range.max}`);
  return refilled.vmid;
}

/**
 * The first pooled VMID no other transaction is claiming, taken out of the pool (in `seq`
 * order, so that the scan stops at the first row it can lock), and about how many rows are
 * left after it. One left from a range the configuration no longer has is dropped on the way.
 */
async function claimPooled(tx: Queryable, range: VmidRange): Promise<{ vmid: number; left: number } | null> {
  for (;;) {
    const [rows] = await tx.query<RowDataPacket[]>(
      "SELECT seq, vmid, (SELECT MAX(seq) FROM vmid_pool) - seq AS left_after FROM vmid_pool ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED",
    );
    const row = rows[0];
    if (!row) return null;
    await tx.query("DELETE FROM vmid_pool WHERE seq = ?", [row.seq]);
    const vmid = row.vmid as number;
    if (vmid >= range.min && vmid <= range.max) return { vmid, left: Number(row.left_after) };
  }
}

/** Adds the next chunk while the pool still has VMIDs; skipped when another create holds the allocator's row or already did it. */
async function topUp(tx: Queryable, range: VmidRange): Promise<void> {
  const [lock] = await tx.query<RowDataPacket[]>(
    "SELECT next_vmid FROM allocator_locks WHERE name = 'vmid' FOR UPDATE SKIP LOCKED",
  );
  if (!lock[0]) return;
  const [pool] = await tx.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM vmid_pool");
  if (Number(pool[0]!.n) < LOW_WATER) await addFree(tx, range, lock[0].next_vmid as number | null);
}

/**
 * Under the allocator's row lock: the next free VMIDs from the cursor (wrapping around) into
 * the pool, and the cursor past them; false when the range has none. They are read without
 * locks: one taken meanwhile fails its insert when claimed and is skipped.
 */
async function addFree(tx: Queryable, range: VmidRange, cursor: number | null): Promise<boolean> {
  const start = cursor !== null && cursor >= range.min && cursor <= range.max ? cursor : range.min;
  let free = await freeVmids(tx, start, range.max);
  if (free.length === 0 && start > range.min) free = await freeVmids(tx, range.min, start - 1);
  if (free.length === 0) return false;
  await tx.query("INSERT IGNORE INTO vmid_pool (vmid) VALUES ?", [free.map((vmid) => [vmid])]);
  await tx.query("UPDATE allocator_locks SET next_vmid = ? WHERE name = 'vmid'", [free.at(-1)! + 1]);
  return true;
}

/** Up to POOL_CHUNK VMIDs of from..to, rising, that have no allocation. */
async function freeVmids(tx: Queryable, from: number, to: number): Promise<number[]> {
  const free: number[] = [];
  let candidate = from;
  for (;;) {
    const [rows] = await tx.query<RowDataPacket[]>(
      "SELECT vmid FROM vmid_allocations WHERE vmid BETWEEN ? AND ? ORDER BY vmid LIMIT ?",
      [candidate, to, READ_STEP],
    );
    for (const row of rows) {
      const held = row.vmid as number;
      for (; candidate < held; candidate++) if (free.push(candidate) === POOL_CHUNK) return free;
      candidate = held + 1;
    }
    // A short read saw every allocation up to `to`: the rest of the range is free.
    if (rows.length < READ_STEP) break;
  }
  for (; candidate <= to && free.length < POOL_CHUNK; candidate++) free.push(candidate);
  return free;
}
