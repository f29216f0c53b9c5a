import type { Migration } from "./migration.js";

/**
 * Free VMIDs ready to hand out, in the order they go out (`seq`). Creates claim them with
 * `FOR UPDATE SKIP LOCKED` side by side; only refilling the pool from the cursor takes the
 * `allocator_locks` row, once per chunk, instead of every create taking it in turn.
 */
export const vmidPool: Migration = {
  version: 11,
  name: "vmid-pool",
  statements: [
    `CREATE TABLE IF NOT EXISTS vmid_pool (
      seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      vmid INT UNSIGNED NOT NULL,
      UNIQUE KEY vmid_pool_vmid (vmid)
    ) ENGINE=InnoDB`,
  ],
};
