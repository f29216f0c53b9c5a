import type { Pool, PoolConnection, RowDataPacket } from "mysql2/promise";

/** A registered node as the API shows it. */
export interface NodeRecord {
  readonly name: string;
  readonly address: string;
  readonly credentials_ref: string | null;
  /** The Proxmox cluster the node's agent reports: '' a node of its own, null not known yet. */
  readonly cluster: string | null;
  readonly cluster_members: readonly string[];
  readonly health_state: string;
  readonly last_seen_at: string | null;
  readonly created_at: string;
}

interface NodeRow extends RowDataPacket {
  name: string;
  address: string;
  credentials_ref: string | null;
  cluster: string | null;
  cluster_members: string | string[] | null;
  health_state: string;
  last_seen_at: Date | null;
  created_at: Date;
}

function toRecord(row: NodeRow): NodeRecord {
  return {
    name: row.name,
    address: row.address,
    credentials_ref: row.credentials_ref,
    cluster: row.cluster,
    cluster_members: (typeof row.cluster_members === "string" ? (JSON.parse(row.cluster_members) as string[]) : row.cluster_members) ?? [],
    health_state: row.health_state,
    last_seen_at: row.last_seen_at?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
  };
}

export async function listNodes(db: Pool | PoolConnection): Promise<NodeRecord[]> {
  const [rows] = await db.query<NodeRow[]>("SELECT * FROM nodes ORDER BY name");
  return rows.map(toRecord);
}

export async function findNode(db: Pool | PoolConnection, name: string, forUpdate = false): Promise<NodeRecord | null> {
  const [rows] = await db.query<NodeRow[]>(`SELECT * FROM nodes WHERE name = ?${forUpdate ? " FOR UPDATE" : ""}`, [name]);
  return rows[0] ? toRecord(rows[0]) : null;
}

export async function insertNode(tx: PoolConnection, node: { name: string; address: string; credentials_ref?: string }, now: Date): Promise<void> {
  await tx.query("INSERT INTO nodes (name, address, credentials_ref, created_at, updated_at) VALUES (?, ?, ?, ?, ?)", [node.name, node.address, node.credentials_ref ?? null, now, now]);
}
