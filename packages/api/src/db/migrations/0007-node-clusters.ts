import type { Migration } from "./migration.js";

/**
 * The Proxmox cluster each node belongs to, as its agent reads it from /etc/pve/.members:
 * `cluster` is the cluster's name, '' for a node that is a cluster of its own, NULL while
 * unknown; `cluster_members` the member nodes. Containers move between the nodes of one
 * cluster (pct migrate, HA), and only there.
 */
export const nodeClusters: Migration = {
  version: 7,
  name: "node-clusters",
  statements: [
    `ALTER TABLE nodes ADD COLUMN IF NOT EXISTS cluster VARCHAR(64) NULL AFTER credentials_ref`,
    `ALTER TABLE nodes ADD COLUMN IF NOT EXISTS cluster_members JSON NULL AFTER cluster`,
  ],
};
