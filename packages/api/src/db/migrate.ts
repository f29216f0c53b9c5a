import { createHash } from "node:crypto";
import type { RowDataPacket } from "mysql2/promise";
import os from "node:os";
import { systemClock, type Logger } from "@lockstep/shared";
import { DatabaseError } from "../errors.js";
import type { Migration } from "./migrations/migration.js";
import { LEASES_TABLE } from "./migrations/0010-leases.js";
import { LeaseStore, type Fence } from "../leases/lease-store.js";
import type { Database } from "./database.js";

const LEASE = "schema-migration";
// A long ALTER holds the lease the whole time: it is renewed every third of this.
const LEASE_TTL_MS = 60_000;
const LEASE_WAIT_MS = 120_000;

interface AppliedRow extends RowDataPacket {
  version: number;
  name: string;
  checksum: string;
}

/** A migration's identity: any edit to an applied one is detected at the next start. */
export function migrationChecksum(migration: Migration): string {
  return createHash("sha256")
    .update(JSON.stringify([migration.name, migration.statements]))
    .digest("hex");
}

/**
 * Brings the schema up to date. Several API processes may start at once: a lease makes them
 * take turns (on one server and on Galera alike), and each applies only what is still
 * missing, checking before each statement that it still holds the lease (DDL commits on its
 * own, so this is as close as a fence gets). Refuses to run when an applied migration was
 * edited or when the database is ahead of this code.
 */
export async function migrate(
  db: Database,
  migrations: readonly Migration[],
  logger: Logger,
  owner = `migrate:${os.hostname()}:${process.pid}`,
): Promise<number[]> {
  assertOrdered(migrations);
  const leases = new LeaseStore(db, systemClock, owner);
  await db.query(LEASES_TABLE);
  await db.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INT UNSIGNED NOT NULL PRIMARY KEY,
    name VARCHAR(128) NOT NULL,
    checksum CHAR(64) NOT NULL,
    applied_at DATETIME(3) NOT NULL
  ) ENGINE=InnoDB`);
  const held = await leases.hold(LEASE, { ttlMs: LEASE_TTL_MS, waitMs: LEASE_WAIT_MS }, async (lease) => {
    const [rows] = await db.query<AppliedRow[]>(
      "SELECT version, name, checksum FROM schema_migrations ORDER BY version",
    );
    verifyApplied(rows, migrations);
    const applied = new Set(rows.map((row) => row.version));
    const done: number[] = [];
    for (const migration of migrations.filter((m) => !applied.has(m.version))) {
      await apply(db, migration, logger, leases.fence(lease));
      done.push(migration.version);
    }
    return done;
  });
  if (!held)
    throw new DatabaseError(`another process held the schema migration lease for more than ${LEASE_WAIT_MS / 1000} s`);
  return held.value;
}

async function apply(db: Database, migration: Migration, logger: Logger, fence: Fence): Promise<void> {
  const started = Date.now();
  for (const statement of migration.statements) {
    await db.transaction(fence);
    await db.query(statement);
  }
  await db.transaction(async (tx) => {
    await fence(tx);
    await tx.query("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, NOW(3))", [
      migration.version,
      migration.name,
      migrationChecksum(migration),
    ]);
  });
  logger.info("migration applied", {
    version: migration.version,
    name: migration.name,
    durationMs: Date.now() - started,
  });
}

function assertOrdered(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new DatabaseError(`migration '${migration.name}' has version ${migration.version}, expected ${index + 1}`);
    }
  });
}

function verifyApplied(rows: AppliedRow[], migrations: readonly Migration[]): void {
  for (const row of rows) {
    const known = migrations[row.version - 1];
    if (!known) {
      throw new DatabaseError(
        `database has migration ${row.version} ('${row.name}'), which this version of Lockstep does not know: refusing to run against a newer schema`,
      );
    }
    if (migrationChecksum(known) !== row.checksum) {
      throw new DatabaseError(
        `migration ${row.version} ('${row.name}') was changed after it was applied: add a new migration instead`,
      );
    }
  }
}
