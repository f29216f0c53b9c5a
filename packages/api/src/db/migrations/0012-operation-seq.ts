import type { Migration } from "./migration.js";

/**
 * The order a container's jobs run in is the order they were committed in, given by the
 * database (`seq`, AUTO_INCREMENT, assigned by the INSERT that every request makes while it
 * holds the container's row lock), not by `created_at`: that time is taken by the API process
 * before it waits for the lock, on its own clock, so a delete whose request began first but
 * committed after an apply looked older than the apply and ran beside it (Galera fault seed 4).
 * Existing jobs are numbered in their `created_at` order; every statement may run again.
 */
export const operationSeq: Migration = {
  version: 12,
  name: "operation-seq",
  statements: [
    "ALTER TABLE operations ADD COLUMN IF NOT EXISTS seq BIGINT UNSIGNED NULL",
    `UPDATE operations o JOIN (SELECT id, ROW_NUMBER() OVER (ORDER BY created_at, id) AS n FROM operations) r ON r.id = o.id
     SET o.seq = r.n WHERE o.seq IS NULL`,
    "ALTER TABLE operations MODIFY seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, ADD UNIQUE KEY IF NOT EXISTS operations_seq (seq)",
  ],
};
