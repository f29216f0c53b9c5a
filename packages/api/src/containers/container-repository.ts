import type { RowDataPacket } from "mysql2/promise";
import { jsonColumn, type Queryable } from "../db/database.js";

/** A container record as the API shows it. */
export interface ContainerRecord {
  readonly id: string;
  readonly vmid: number;
  readonly node: string;
  readonly hostname: string;
  readonly status: string;
  readonly desired_state: string;
  readonly observed_state: string | null;
  readonly ports: Record<string, number>;
  readonly operation_id: string | null;
  /** The token that created it; null for records from before tokens were kept. */
  readonly token_id: string | null;
  readonly spec: unknown;
  readonly created_at: string;
  readonly updated_at: string;
}

type Db = Queryable;

const SELECT = `SELECT c.*, (SELECT o.id FROM operations o WHERE o.container_id = c.id ORDER BY o.seq DESC LIMIT 1) AS operation_id,
  (SELECT JSON_OBJECTAGG(p.name, p.port) FROM port_allocations p WHERE p.container_id = c.id) AS ports
  FROM containers c`;

function toRecord(row: RowDataPacket): ContainerRecord {
  return {
    id: row.id,
    vmid: row.vmid,
    node: row.node,
    hostname: row.hostname,
    status: row.status,
    desired_state: row.desired_state,
    observed_state: row.observed_state,
    ports: (jsonColumn(row.ports) as Record<string, number> | null) ?? {},
    operation_id: row.operation_id,
    token_id: row.token_id ?? null,
    spec: jsonColumn(row.spec),
    created_at: (row.created_at as Date).toISOString(),
    updated_at: (row.updated_at as Date).toISOString(),
  };
}

/** A record just written as pending with its ports and its create job, as `findContainer` would read it back. */
export function pendingRecord(
  c: {
    readonly id: string;
    readonly node: string;
    readonly vmid: number;
    readonly hostname: string;
    readonly spec: unknown;
    readonly ports: Record<string, number>;
    readonly operationId: string;
    readonly tokenId: string;
  },
  now: Date,
): ContainerRecord {
  const at = now.toISOString();
  return {
    id: c.id,
    vmid: c.vmid,
    node: c.node,
    hostname: c.hostname,
    status: "pending",
    desired_state: "running",
    observed_state: null,
    ports: c.ports,
    operation_id: c.operationId,
    token_id: c.tokenId,
    spec: c.spec,
    created_at: at,
    updated_at: at,
  };
}

export async function findContainer(db: Db, id: string): Promise<ContainerRecord | null> {
  const [rows] = await db.query<RowDataPacket[]>(`${SELECT} WHERE c.id = ?`, [id]);
  return rows[0] ? toRecord(rows[0]) : null;
}

export async function listContainers(db: Db, filter: { node?: string; limit: number }): Promise<ContainerRecord[]> {
  const [rows] = await db.query<RowDataPacket[]>(
    `${SELECT} ${filter.node ? "WHERE c.node = ?" : ""} ORDER BY c.created_at, c.id LIMIT ?`,
    filter.node ? [filter.node, filter.limit] : [filter.limit],
  );
  return rows.map(toRecord);
}
