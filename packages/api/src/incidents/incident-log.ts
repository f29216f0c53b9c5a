import { createHash } from "node:crypto";
import type { RowDataPacket } from "mysql2/promise";
import type { Database, Queryable } from "../db/database.js";

export type Severity = "info" | "warning" | "critical";

/** One entry of the incident log. */
export interface Incident {
  readonly at: Date;
  readonly node: string | null;
  readonly vmid: number | null;
  readonly kind: string;
  readonly severity: Severity;
  readonly detail: string;
  readonly containerId?: string | null;
  readonly operationId?: string | null;
  /** Identity of the event it comes from: the same event recorded twice is one incident. */
  readonly sourceKey?: string;
}

/** Appends an incident; a duplicate of an already recorded event is ignored. */
export async function recordIncident(db: Queryable, incident: Incident): Promise<void> {
  const key = incident.sourceKey ? createHash("sha256").update(incident.sourceKey).digest("hex") : null;
  await db.query(
    "INSERT IGNORE INTO incidents (at, node, vmid, kind, severity, container_id, operation_id, detail, source_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [
      incident.at,
      incident.node,
      incident.vmid,
      incident.kind,
      incident.severity,
      incident.containerId ?? null,
      incident.operationId ?? null,
      incident.detail.slice(0, 8000),
      key,
    ],
  );
}

export interface IncidentFilter {
  readonly node?: string;
  readonly vmid?: number;
  readonly kind?: string;
  readonly since?: Date;
  readonly until?: Date;
  readonly limit: number;
}

/** Incidents, newest first, filtered by node, VMID, kind and time. */
export async function listIncidents(db: Database, filter: IncidentFilter): Promise<Record<string, unknown>[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (clause: string, value: unknown): void => {
    where.push(clause);
    params.push(value);
  };
  if (filter.node !== undefined) add("node = ?", filter.node);
  if (filter.vmid !== undefined) add("vmid = ?", filter.vmid);
  if (filter.kind !== undefined) add("kind = ?", filter.kind);
  if (filter.since !== undefined) add("at >= ?", filter.since);
  if (filter.until !== undefined) add("at < ?", filter.until);
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT id, at, node, vmid, kind, severity, container_id, operation_id, detail FROM incidents ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY at DESC, id DESC LIMIT ?`,
    [...params, filter.limit],
  );
  return rows.map((r) => ({ ...r, id: Number(r.id), at: (r.at as Date).toISOString() }));
}
