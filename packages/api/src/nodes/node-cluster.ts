import type { RowDataPacket } from "mysql2/promise";
import { recordIncident } from "../incidents/incident-log.js";
import type { Queryable } from "../db/database.js";

/** The Proxmox cluster of a registered node, as its agent last reported it. */
export interface NodeCluster {
  /** The cluster's name; '' for a node that is a cluster of its own; null while unknown. */
  readonly name: string | null;
  readonly members: readonly string[];
}

/** Every registered node's cluster, by node name. */
export type ClusterMap = ReadonlyMap<string, NodeCluster>;

/**
 * Records the cluster a node's agent read from its /etc/pve/.members. `members` empty means
 * the agent could not read it (its /etc/pve is not ok): what was known stays. A node seen in
 * another cluster than before is an incident: its containers' records are judged against the
 * new one from now on.
 */
export async function recordNodeCluster(
  db: Queryable,
  node: string,
  name: string,
  members: readonly string[],
  now: Date,
): Promise<void> {
  if (members.length === 0) return;
  const [rows] = await db.query<RowDataPacket[]>(
    "SELECT cluster, cluster_members FROM nodes WHERE name = ? FOR UPDATE",
    [node],
  );
  const before = rows[0];
  if (!before) return;
  const sorted = [...members].sort();
  if (before.cluster === name && JSON.stringify(parseMembers(before.cluster_members)) === JSON.stringify(sorted))
    return;
  await db.query("UPDATE nodes SET cluster = ?, cluster_members = ? WHERE name = ?", [
    name,
    JSON.stringify(sorted),
    node,
  ]);
  if (before.cluster !== null && before.cluster !== name) {
    await recordIncident(db, {
      at: now,
      node,
      vmid: null,
      kind: "node-cluster-changed",
      severity: "warning",
      detail: `node ${node} now reports cluster ${describe(name)} (was ${describe(before.cluster as string)}), members ${sorted.join(", ")}`,
    });
  }
}

/** Every registered node's cluster. */
export async function loadClusterMap(db: Queryable): Promise<ClusterMap> {
  const [rows] = await db.query<RowDataPacket[]>("SELECT name, cluster, cluster_members FROM nodes");
  return new Map(
    rows.map((r) => [r.name as string, { name: r.cluster as string | null, members: parseMembers(r.cluster_members) }]),
  );
}

/**
 * The registered nodes a container of `node` can move to: the other registered members of
 * its cluster. None for a node of its own or one whose cluster is unknown.
 */
export function clusterPeers(clusters: ClusterMap, node: string): string[] {
  const own = clusters.get(node);
  if (!own?.name) return [];
  return [...clusters.entries()]
    .filter(([other, c]) => other !== node && c.name === own.name && own.members.includes(other))
    .map(([other]) => other)
    .sort();
}

/**
 * Whether every member of `node`'s cluster is a registered node: only then can the API see
 * every place a container of that cluster may be. False while the cluster is unknown.
 */
export function clusterFullyRegistered(clusters: ClusterMap, node: string): boolean {
  const own = clusters.get(node);
  if (!own || own.name === null) return false;
  return own.members.every((member) => member === node || clusters.get(member)?.name === own.name);
}

function parseMembers(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  const parsed = typeof value === "string" ? (JSON.parse(value) as unknown) : value;
  return Array.isArray(parsed) ? parsed.filter((m): m is string => typeof m === "string") : [];
}

function describe(name: string): string {
  return name === "" ? "none (a node of its own)" : `'${name}'`;
}
