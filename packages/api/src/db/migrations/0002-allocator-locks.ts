import type { Migration } from "./migration.js";

/**
 * One row per allocator. Every allocation transaction locks its allocator's row first
 * (always in the same order: VMIDs, then the node's row for ports), so concurrent creates
 * take turns instead of racing into duplicate-key errors and deadlocks; the unique keys on
 * the allocation tables remain the guarantee.
 */
export const allocatorLocks: Migration = {
  version: 2,
  name: "allocator-locks",
  statements: [
    `CREATE TABLE IF NOT EXISTS allocator_locks (
      name VARCHAR(32) NOT NULL PRIMARY KEY
    ) ENGINE=InnoDB`,
    `INSERT IGNORE INTO allocator_locks (name) VALUES ('vmid')`,
  ],
};
