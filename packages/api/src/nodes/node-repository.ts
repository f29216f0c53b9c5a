import type { RowDataPacket } from "mysql2/promise";
import { recordIncident } from "../incidents/incident-log.js";
import type { Queryable } from "../db/database.js";

/**
 * A node in maintenance: no job starts on it (one running finishes its attempt) and the
 * reconciler only reports there. `jobs_running` is what the operator waits for to reach 0
 * before working on the node; `jobs_waiting` start when the node leaves maintenance.
 */
export interface NodeMaintenance {
  readonly since: string;
  readonly reason: string | null;
  /** The name of the API token that put the node into maintenance. */
  readonly entered_by: string | null;
  readonly jobs_running: number;
  readonly jobs_waiting: number;
}

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
  /** Null while the node takes work. */
  readonly maintenance: NodeMaintenance | null;
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
  maintenance_since: Date | null;
  maintenance_reason: string | null;
  maintenance_by: string | null;
  jobs_running: number;
  jobs_waiting: number;
  created_at: Date;
}

// Job counts only for a node in maintenance: they are what its operator waits on.
const SELECT_NODES = `SELECT n.*,
  IF(n.maintenance_since IS NULL, 0, (SELECT COUNT(*) FROM operations o WHERE o.node = n.name AND o.status = 'running')) AS jobs_running,
  IF(n.maintenance_since IS NULL, 0, (SELECT COUNT(*) FROM operations o WHERE o.node = n.name AND o.status = 'queued')) AS jobs_waiting
  FROM nodes n`;

function toRecord(row: NodeRow): NodeRecord {
  return {
    name: row.name,
    address: row.address,
    credentials_ref: row.credentials_ref,
    cluster: row.cluster,
    cluster_members:
      (typeof row.cluster_members === "string" ? (JSON.parse(row.cluster_members) as string[]) : row.cluster_members) ??
      [],
    health_state: row.health_state,
    last_seen_at: row.last_seen_at?.toISOString() ?? null,
    maintenance: row.maintenance_since
      ? {
          since: row.maintenance_since.toISOString(),
          reason: row.maintenance_reason,
          entered_by: row.maintenance_by,
          jobs_running: Number(row.jobs_running),
          jobs_waiting: Number(row.jobs_waiting),
        }
      : null,
    created_at: row.created_at.toISOString(),
  };
}

export async function listNodes(db: Queryable): Promise<NodeRecord[]> {
  const [rows] = await db.query<NodeRow[]>(`${SELECT_NODES} ORDER BY n.name`);
  return rows.map(toRecord);
}

/** One node; `forUpdate` locks its row, which serializes its maintenance transitions with creates on it. */
export async function findNode(db: Queryable, name: string, forUpdate = false): Promise<NodeRecord | null> {
  // The row is locked on its own: the job counts' subqueries must not lock operations.
  if (forUpdate) await db.query("SELECT name FROM nodes WHERE name = ? FOR UPDATE", [name]);
  const [rows] = await db.query<NodeRow[]>(`${SELECT_NODES} WHERE n.name = ?`, [name]);
  return rows[0] ? toRecord(rows[0]) : null;
}

/** What a create needs to know of its node: whether it is in maintenance, since when and why. */
export interface NodeAdmission {
  readonly maintenance: { readonly since: string; readonly reason: string | null } | null;
}

/**
 * The node a create goes to, or null when it is not registered, with the row's shared lock
 * held to the caller's commit: it orders the create with the node's maintenance transitions
 * (which lock the row exclusively) while creates on one node do not wait for each other.
 */
export async function admitCreate(tx: Queryable, name: string): Promise<NodeAdmission | null> {
  const [rows] = await tx.query<NodeRow[]>(
    "SELECT maintenance_since, maintenance_reason FROM nodes WHERE name = ? LOCK IN SHARE MODE",
    [name],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    maintenance: row.maintenance_since
      ? { since: row.maintenance_since.toISOString(), reason: row.maintenance_reason }
      : null,
  };
}

export async function insertNode(
  tx: Queryable,
  node: { name: string; address: string; credentials_ref?: string },
  now: Date,
): Promise<void> {
  await tx.query("INSERT INTO nodes (name, address, credentials_ref, created_at, updated_at) VALUES (?, ?, ?, ?, ?)", [
    node.name,
    node.address,
    node.credentials_ref ?? null,
    now,
    now,
  ]);
}

/**
 * Puts a node into maintenance, in the caller's transaction, and logs it as an incident. A
 * node already in maintenance keeps its first entry (since, reason, who): entering again
 * changes nothing. False when the node does not exist.
 */
export async function enterMaintenance(
  tx: Queryable,
  name: string,
  entry: { reason: string | null; by: string },
  now: Date,
): Promise<boolean> {
  const node = await findNode(tx, name, true);
  if (!node) return false;
  if (node.maintenance) return true;
  await tx.query(
    "UPDATE nodes SET maintenance_since = ?, maintenance_reason = ?, maintenance_by = ?, updated_at = ? WHERE name = ?",
    [now, entry.reason, entry.by, now, name],
  );
  const why = entry.reason ? `: ${entry.reason}` : "";
  await recordIncident(tx, {
    at: now,
    node: name,
    vmid: null,
    kind: "node-maintenance-entered",
    severity: "info",
    detail: `node ${name} entered maintenance (by token '${entry.by}')${why}; no new job starts on it and the reconciler only reports there`,
  });
  return true;
}

/** Takes a node out of maintenance (its waiting jobs start), and logs it; a node not in maintenance is left as it is. False when it does not exist. */
export async function leaveMaintenance(tx: Queryable, name: string, by: string, now: Date): Promise<boolean> {
  const node = await findNode(tx, name, true);
  if (!node) return false;
  if (!node.maintenance) return true;
  await tx.query(
    "UPDATE nodes SET maintenance_since = NULL, maintenance_reason = NULL, maintenance_by = NULL, updated_at = ? WHERE name = ?",
    [now, name],
  );
  await recordIncident(tx, {
    at: now,
    node: name,
    vmid: null,
    kind: "node-maintenance-left",
    severity: "info",
    detail: `node ${name} left maintenance (by token '${by}', in it since ${node.maintenance.since}); ${node.maintenance.jobs_waiting} waiting job(s) start`,
  });
  return true;
}

/** Whether a node is in maintenance now (false for a node that does not exist). */
export async function inMaintenance(db: Queryable, name: string): Promise<boolean> {
  const [rows] = await db.query<RowDataPacket[]>(
    "SELECT 1 FROM nodes WHERE name = ? AND maintenance_since IS NOT NULL",
    [name],
  );
  return rows.length > 0;
}
