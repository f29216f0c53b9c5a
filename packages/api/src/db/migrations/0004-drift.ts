import type { Migration } from "./migration.js";

/**
 * What the reconciler found differing between the records and the nodes. One row per
 * difference while it lasts (`resolved_at` NULL), kept afterwards as history; the key makes
 * a difference seen by two passes, or two API processes, one finding.
 */
export const drift: Migration = {
  version: 4,
  name: "drift",
  statements: [
    `CREATE TABLE IF NOT EXISTS drift_findings (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      finding_key VARCHAR(255) NOT NULL,
      open_key VARCHAR(255) NULL,
      kind VARCHAR(32) NOT NULL,
      node VARCHAR(63) NOT NULL,
      vmid INT UNSIGNED NULL,
      container_id CHAR(36) NULL,
      detail TEXT NOT NULL,
      first_seen_at DATETIME(3) NOT NULL,
      last_seen_at DATETIME(3) NOT NULL,
      resolved_at DATETIME(3) NULL,
      resolution VARCHAR(255) NULL,
      UNIQUE KEY drift_findings_open (open_key),
      KEY drift_findings_node (node, resolved_at),
      KEY drift_findings_vmid (vmid)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
  ],
};
