import type { RowDataPacket } from "mysql2/promise";
import { jsonColumn, type Queryable } from "../db/database.js";

/** One job: a create, apply or delete of a container, with its attempts and steps. */
export interface OperationRecord {
  readonly id: string;
  readonly container_id: string | null;
  readonly node: string | null;
  readonly kind: string;
  readonly status: string;
  readonly attempts: number;
  readonly steps: unknown[];
  /** For a create or apply: `changed_steps`, the steps that changed something. */
  readonly result: unknown;
  readonly error: unknown;
  readonly created_at: string;
  readonly updated_at: string;
  readonly finished_at: string | null;
}

function toRecord(row: RowDataPacket): OperationRecord {
  return {
    id: row.id,
    container_id: row.container_id,
    node: row.node,
    kind: row.kind,
    status: row.status,
    attempts: row.attempts,
    steps: (jsonColumn(row.steps) as unknown[]) ?? [],
    result: jsonColumn(row.result) ?? null,
    error: jsonColumn(row.error) ?? null,
    created_at: (row.created_at as Date).toISOString(),
    updated_at: (row.updated_at as Date).toISOString(),
    finished_at: row.finished_at ? (row.finished_at as Date).toISOString() : null,
  };
}

/** An operation just queued, as `findOperation` would read it back. */
export function queuedRecord(
  op: { readonly id: string; readonly containerId: string; readonly node: string; readonly kind: string },
  now: Date,
): OperationRecord {
  const at = now.toISOString();
  return {
    id: op.id,
    container_id: op.containerId,
    node: op.node,
    kind: op.kind,
    status: "queued",
    attempts: 0,
    steps: [],
    result: null,
    error: null,
    created_at: at,
    updated_at: at,
    finished_at: null,
  };
}

export async function findOperation(db: Queryable, id: string): Promise<OperationRecord | null> {
  const [rows] = await db.query<RowDataPacket[]>("SELECT * FROM operations WHERE id = ?", [id]);
  return rows[0] ? toRecord(rows[0]) : null;
}
