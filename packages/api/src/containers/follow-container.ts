import type { RowDataPacket } from "mysql2/promise";
import { allocatePorts, type PortRange } from "../allocation/allocate-ports.js";
import { recordIncident } from "../incidents/incident-log.js";
import { moveContainer } from "../lifecycle/container-lifecycle.js";
import { moveOperations } from "../lifecycle/operation-lifecycle.js";
import type { Database, Queryable } from "../db/database.js";
import type { Fence } from "../leases/lease-store.js";

/** A record's container found on another node of its cluster (pct migrate, an HA relocation). */
export interface ContainerMove {
  readonly containerId: string;
  readonly vmid: number;
  readonly from: string;
  readonly to: string;
  /** Who found it, for the incident: "reconciler", "job <id>". */
  readonly foundBy: string;
}

/**
 * The one transition of a record's node: the record follows its container to the node it
 * moved to. Nothing on any node is touched; the VMID stays allocated to it (VMIDs are the
 * cluster's), its queued and running jobs follow too, and its ports move with it, each one
 * that another container holds on the new node re-allocated there. Logged as incidents
 * `container-moved` (and `ports-reallocated`). False when the record no longer names `from`
 * and that VMID (someone moved or deleted it meanwhile): nothing is changed. `fence` checks the
 * caller's lease in the same transaction (a reconcile pass's).
 */
export async function followContainer(
  db: Database,
  move: ContainerMove,
  ports: PortRange,
  now: Date,
  fence: Fence = async () => undefined,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    await fence(tx);
    const [rows] = await tx.query<RowDataPacket[]>(
      "SELECT node, vmid, status FROM containers WHERE id = ? FOR UPDATE",
      [move.containerId],
    );
    const record = rows[0];
    if (!record || record.node !== move.from || record.vmid !== move.vmid || record.status === "deleted") return false;
    await moveContainer(tx, move.containerId, move.to, now);
    await moveOperations(tx, move.containerId, move.to);
    const moved = await movePorts(tx, move, ports, now);
    await recordIncident(tx, {
      at: now,
      node: move.to,
      vmid: move.vmid,
      kind: "container-moved",
      severity: "info",
      containerId: move.containerId,
      detail: `CT ${move.vmid} moved from ${move.from} to ${move.to} (found by the ${move.foundBy}); its record follows it${moved}`,
    });
    return true;
  });
}

/** Moves the record's ports to the new node; a port taken there is re-allocated. Says what changed. */
async function movePorts(tx: Queryable, move: ContainerMove, range: PortRange, now: Date): Promise<string> {
  const [held] = await tx.query<RowDataPacket[]>(
    "SELECT name, port FROM port_allocations WHERE container_id = ? ORDER BY name",
    [move.containerId],
  );
  if (held.length === 0) return "";
  const [taken] = await tx.query<RowDataPacket[]>(
    "SELECT port FROM port_allocations WHERE node = ? AND port IN (?) FOR UPDATE",
    [move.to, held.map((p) => p.port)],
  );
  const clash = new Set(taken.map((p) => p.port as number));
  const clashing = held.filter((p) => clash.has(p.port as number));
  await tx.query("DELETE FROM port_allocations WHERE container_id = ?", [move.containerId]);
  for (const p of held.filter((p) => !clash.has(p.port as number))) {
    await tx.query(
      "INSERT INTO port_allocations (node, port, container_id, name, allocated_at) VALUES (?, ?, ?, ?, ?)",
      [move.to, p.port, move.containerId, p.name, now],
    );
  }
  if (clashing.length === 0) return "";
  const fresh = await allocatePorts(
    tx,
    range,
    move.to,
    move.containerId,
    clashing.map((p) => p.name as string),
    now,
  );
  const changes = clashing.map((p) => `${p.name} ${p.port} -> ${fresh[p.name as string]}`).join(", ");
  await recordIncident(tx, {
    at: now,
    node: move.to,
    vmid: move.vmid,
    kind: "ports-reallocated",
    severity: "warning",
    containerId: move.containerId,
    detail: `CT ${move.vmid} moved to ${move.to}, where other containers hold some of its ports: ${changes}`,
  });
  return `; ports re-allocated on ${move.to}: ${changes}`;
}
