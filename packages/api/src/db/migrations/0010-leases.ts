import type { Migration } from "./migration.js";

/** The leases table (leases/lease-store.ts), as `migrate` makes it before taking its own lease. */
export const LEASES_TABLE = `CREATE TABLE IF NOT EXISTS leases (
    name VARCHAR(191) NOT NULL PRIMARY KEY,
    owner VARCHAR(191) NULL,
    token BIGINT UNSIGNED NOT NULL DEFAULT 0,
    expires_at DATETIME(3) NULL,
    updated_at DATETIME(3) NOT NULL
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`;

/**
 * Leases: "one at a time" that holds on one server and on Galera alike, unlike GET_LOCK. The
 * schema migration itself takes one, so `migrate` makes the table before any migration runs;
 * this entry records it in the schema's history.
 */
export const leaseTable: Migration = {
  version: 10,
  name: "leases",
  statements: [LEASES_TABLE],
};
