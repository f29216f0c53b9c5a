import type { RowDataPacket } from "mysql2/promise";
import { LockstepError } from "@lockstep/shared";
import type { Queryable } from "../db/database.js";
import { duplicateKey } from "../db/database-failure.js";

export interface PortRange {
  readonly min: number;
  readonly max: number;
}

/**
 * Takes the lowest free port of the node's range per name, for `containerId`, inside the
 * caller's transaction. The primary key (node, port) is the guarantee that two containers
 * never share a port: creates on one node do not take turns, and a port another create took
 * since the read fails its insert and the next one is tried.
 */
export async function allocatePorts(
  tx: Queryable,
  range: PortRange,
  node: string,
  containerId: string,
  names: readonly string[],
  now: Date,
): Promise<Record<string, number>> {
  if (names.length === 0) return {};
  const [rows] = await tx.query<RowDataPacket[]>(
    "SELECT port FROM port_allocations WHERE node = ? AND port BETWEEN ? AND ?",
    [node, range.min, range.max],
  );
  const taken = new Set(rows.map((r) => r.port as number));
  const ports: Record<string, number> = {};
  let candidate = range.min;
  for (const name of names) {
    for (; ; candidate++) {
      while (taken.has(candidate)) candidate++;
      if (candidate > range.max)
        throw new LockstepError(
          "RESOURCE_EXHAUSTED",
          `no free port left on node '${node}' in ${range.min}..${range.max}`,
        );
      if (await tryInsert(tx, node, candidate, containerId, name, now)) break;
    }
    ports[name] = candidate++;
  }
  return ports;
}

async function tryInsert(
  tx: Queryable,
  node: string,
  port: number,
  containerId: string,
  name: string,
  now: Date,
): Promise<boolean> {
  try {
    await tx.query(
      "INSERT INTO port_allocations (node, port, container_id, name, allocated_at) VALUES (?, ?, ?, ?, ?)",
      [node, port, containerId, name, now],
    );
    return true;
  } catch (err) {
    if (duplicateKey(err) !== "PRIMARY") throw err;
    return false;
  }
}
