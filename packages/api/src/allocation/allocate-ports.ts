import type { RowDataPacket } from "mysql2/promise";
import { LockstepError } from "@lockstep/shared";
import type { Queryable } from "../db/database.js";

export interface PortRange {
  readonly min: number;
  readonly max: number;
}

/**
 * Takes one free port of the node's range per name, for `containerId`, inside the caller's
 * transaction. The node's row lock serializes allocations on one node; the primary key
 * (node, port) is the guarantee that two containers never share a port.
 */
export async function allocatePorts(tx: Queryable, range: PortRange, node: string, containerId: string, names: readonly string[], now: Date): Promise<Record<string, number>> {
  if (names.length === 0) return {};
  await tx.query("SELECT name FROM nodes WHERE name = ? FOR UPDATE", [node]);
  const [rows] = await tx.query<RowDataPacket[]>("SELECT port FROM port_allocations WHERE node = ? AND port BETWEEN ? AND ? FOR UPDATE", [node, range.min, range.max]);
  const taken = new Set(rows.map((r) => r.port as number));
  const ports: Record<string, number> = {};
  let candidate = range.min;
  for (const name of names) {
    while (taken.has(candidate) && candidate <= range.max) candidate++;
    if (candidate > range.max) throw new LockstepError("RESOURCE_EXHAUSTED", `no free port left on node '${node}' in ${range.min}..${range.max}`);
    await tx.query("INSERT INTO port_allocations (node, port, container_id, name, allocated_at) VALUES (?, ?, ?, ?, ?)", [node, candidate, containerId, name, now]);
    ports[name] = candidate;
    taken.add(candidate);
  }
  return ports;
}
