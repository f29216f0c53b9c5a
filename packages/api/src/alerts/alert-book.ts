import type { RowDataPacket } from "mysql2/promise";
import type { Clock, Logger } from "@lockstep/shared";
import { recordIncident } from "../incidents/incident-log.js";
import type { Alert, AlertChannel } from "./alert-channel.js";
import { affectedRows, type Database } from "../db/database.js";

/**
 * Open alerts, in the database, so that an alert is raised once however many API processes
 * see the problem and however long it lasts, and resolved once when the node recovers.
 * Only the process whose write changed the alert's state notifies the channel.
 */
export class AlertBook {
  constructor(
    private readonly pool: Database,
    private readonly channel: AlertChannel,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  async raise(alert: Alert): Promise<boolean> {
    const now = new Date(this.clock.now());
    const opened = await this.pool.transaction(async (conn) => {
      const [rows] = await conn.query<RowDataPacket[]>("SELECT state FROM alerts WHERE dedup_key = ? FOR UPDATE", [
        alert.dedupKey,
      ]);
      if (rows[0]?.state === "open") return false;
      await conn.query(
        "INSERT INTO alerts (dedup_key, node, kind, state, summary, opened_at) VALUES (?, ?, ?, 'open', ?, ?) ON DUPLICATE KEY UPDATE state = 'open', summary = VALUES(summary), opened_at = VALUES(opened_at), resolved_at = NULL",
        [alert.dedupKey, alert.node, alert.kind, alert.summary, now],
      );
      await recordIncident(conn, {
        at: now,
        node: alert.node,
        vmid: null,
        kind: `alert-${alert.kind}`,
        severity: "critical",
        detail: alert.summary,
      });
      return true;
    });
    if (opened) await this.notify(() => this.channel.trigger(alert), alert);
    return opened;
  }

  async resolve(node: string): Promise<void> {
    const now = new Date(this.clock.now());
    const [rows] = await this.pool.query(
      "SELECT dedup_key, node, kind, summary FROM alerts WHERE node = ? AND state = 'open'",
      [node],
    );
    for (const row of rows as { dedup_key: string; node: string; kind: string; summary: string }[]) {
      const [result] = await this.pool.query(
        "UPDATE alerts SET state = 'resolved', resolved_at = ? WHERE dedup_key = ? AND state = 'open'",
        [now, row.dedup_key],
      );
      if (affectedRows(result) === 0) continue;
      const alert = { dedupKey: row.dedup_key, node: row.node, kind: row.kind, summary: row.summary };
      await recordIncident(this.pool, {
        at: now,
        node,
        vmid: null,
        kind: `alert-resolved`,
        severity: "info",
        detail: `resolved: ${row.summary}`,
      });
      await this.notify(() => this.channel.resolve(alert), alert);
    }
  }

  private async notify(send: () => Promise<void>, alert: Alert): Promise<void> {
    try {
      await send();
    } catch (err) {
      // The alert stays recorded (and in the incident log); the channel failing is logged loudly.
      this.logger.error("alert channel failed", { dedupKey: alert.dedupKey, err: (err as Error).message });
    }
  }
}
