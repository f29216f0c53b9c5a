import type { RowDataPacket } from "mysql2/promise";
import { recordIncident } from "../incidents/incident-log.js";
import type { Finding } from "./classify-drift.js";
import type { Database, Queryable } from "../db/database.js";

/** A finding as stored and shown by `GET /v1/drift`. */
export interface DriftRecord {
  readonly id: number;
  readonly kind: string;
  readonly node: string;
  readonly vmid: number | null;
  readonly container_id: string | null;
  readonly detail: string;
  readonly since: string;
  readonly last_seen_at: string;
}

const SEVERITY: Record<string, "info" | "warning" | "critical"> = {
  missing: "critical",
  orphan: "warning",
  foreign: "info",
  "state-mismatch": "warning",
  duplicate: "critical",
  "stale-lock": "warning",
  unreachable: "critical",
  policy: "warning",
};

function keyOf(f: Pick<Finding, "kind" | "node" | "vmid" | "containerId">): string {
  return `${f.kind}/${f.node}/${f.vmid}/${f.containerId ?? "-"}`;
}

/**
 * Writes one node's pass: new differences are opened (and logged as incidents), those seen
 * again keep their first-seen time, and those no longer seen are resolved, all in the
 * caller's transaction (which the pass fences with its lease). `scope` limits which open
 * findings this pass may resolve (an unreachable node resolves none of its others).
 */
export async function recordNodePass(
  tx: Queryable,
  node: string,
  findings: readonly Finding[],
  now: Date,
  scope: (kind: string) => boolean,
): Promise<{ opened: Finding[]; open: DriftRecord[] }> {
  const [rows] = await tx.query<RowDataPacket[]>(
    "SELECT * FROM drift_findings WHERE node = ? AND resolved_at IS NULL FOR UPDATE",
    [node],
  );
  const existing = new Map(rows.map((r) => [r.open_key as string, r]));
  const seen = new Set(findings.map(keyOf));
  const opened: Finding[] = [];
  for (const f of findings) {
    const key = keyOf(f);
    if (existing.has(key)) {
      await tx.query("UPDATE drift_findings SET last_seen_at = ?, detail = ? WHERE open_key = ?", [now, f.detail, key]);
      continue;
    }
    await tx.query(
      "INSERT INTO drift_findings (finding_key, open_key, kind, node, vmid, container_id, detail, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      [key, key, f.kind, f.node, f.vmid || null, f.containerId, f.detail, now, now],
    );
    await recordIncident(tx, {
      at: now,
      node,
      vmid: f.vmid || null,
      kind: `drift-${f.kind}`,
      severity: SEVERITY[f.kind] ?? "warning",
      detail: f.detail,
      containerId: f.containerId,
    });
    opened.push(f);
  }
  for (const row of rows) {
    if (seen.has(row.open_key as string) || !scope(row.kind as string)) continue;
    await resolveFinding(tx, row.id as number, "no longer seen on the node", now);
  }
  const [open] = await tx.query<RowDataPacket[]>(
    "SELECT * FROM drift_findings WHERE node = ? AND resolved_at IS NULL",
    [node],
  );
  return { opened, open: open.map(toRecord) };
}

/** Closes a finding, with why, and logs it. */
export async function resolveFinding(db: Queryable, id: number, resolution: string, now: Date): Promise<void> {
  const [rows] = await db.query<RowDataPacket[]>(
    "SELECT kind, node, vmid, container_id FROM drift_findings WHERE id = ? AND resolved_at IS NULL",
    [id],
  );
  const row = rows[0];
  if (!row) return;
  await db.query("UPDATE drift_findings SET resolved_at = ?, open_key = NULL, resolution = ? WHERE id = ?", [
    now,
    resolution,
    id,
  ]);
  await recordIncident(db, {
    at: now,
    node: row.node,
    vmid: row.vmid,
    kind: `drift-${row.kind}-resolved`,
    severity: "info",
    detail: resolution,
    containerId: row.container_id,
  });
}

export async function openFindings(
  db: Database,
  filter: { node?: string; vmid?: number; kind?: string },
): Promise<DriftRecord[]> {
  const where = ["resolved_at IS NULL"];
  const args: unknown[] = [];
  if (filter.node) (where.push("node = ?"), args.push(filter.node));
  if (filter.vmid !== undefined) (where.push("vmid = ?"), args.push(filter.vmid));
  if (filter.kind) (where.push("kind = ?"), args.push(filter.kind));
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT * FROM drift_findings WHERE ${where.join(" AND ")} ORDER BY first_seen_at, id LIMIT 5000`,
    args,
  );
  return rows.map(toRecord);
}

function toRecord(row: RowDataPacket): DriftRecord {
  return {
    id: row.id,
    kind: row.kind,
    node: row.node,
    vmid: row.vmid,
    container_id: row.container_id,
    detail: row.detail,
    since: (row.first_seen_at as Date).toISOString(),
    last_seen_at: (row.last_seen_at as Date).toISOString(),
  };
}
