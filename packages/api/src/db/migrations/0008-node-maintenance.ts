import type { Migration } from "./migration.js";

/**
 * A node's maintenance mode: while `maintenance_since` is set, no job starts on the node and
 * the reconciler only reports there. Who entered it (the token's name) and why are kept for
 * the operator who finds the node so. One statement per table: each DDL statement is a
 * commit of its own, run under the migration lock every API process waits on at start.
 */
export const nodeMaintenance: Migration = {
  version: 8,
  name: "node-maintenance",
  statements: [
    `ALTER TABLE nodes
      ADD COLUMN IF NOT EXISTS maintenance_since DATETIME(3) NULL AFTER cluster_members,
      ADD COLUMN IF NOT EXISTS maintenance_reason VARCHAR(500) NULL AFTER maintenance_since,
      ADD COLUMN IF NOT EXISTS maintenance_by VARCHAR(128) NULL AFTER maintenance_reason`,
    // A node's job counts read operations by node and state.
    `ALTER TABLE operations ADD INDEX IF NOT EXISTS operations_node_status (node, status)`,
  ],
};
