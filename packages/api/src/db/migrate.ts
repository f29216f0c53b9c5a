import { createHash } from "node:crypto";
import type { Pool, PoolConnection, RowDataPacket } from "mysql2/promise";
import type { Logger } from "@lockstep/shared";
import { DatabaseError } from "../errors.js";
import type { Migration } from "./migrations/migration.js";

const LOCK_NAME = "lockstep.migrate";
const LOCK_WAIT_SECONDS = 60;

interface AppliedRow extends RowDataPacket {
  version: number;
  name: string;
  checksum: string;
}

/** A migration's identity: any edit to an applied one is detected at the next start. */
export function migrationChecksum(migration: Migration): string {
  return createHash("sha256").update(JSON.stringify([migration.name, migration.statements])).digest("hex");
}

/**
 * Brings the schema up to date. Several API processes may start at once: a named lock makes
 * them take turns, and each applies only what is still missing. Refuses to run when an
 * applied migration was edited or when the database is ahead of this code.
 */
export async function migrate(pool: Pool, migrations: readonly Migration[], logger: Logger): Promise<number[]> {
  assertOrdered(migrations);
  const conn = await pool.getConnection();
  try {
    await acquireLock(conn);
    try {
      await conn.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INT UNSIGNED NOT NULL PRIMARY KEY,
        name VARCHAR(128) NOT NULL,
        checksum CHAR(64) NOT NULL,
        applied_at DATETIME(3) NOT NULL
      ) ENGINE=InnoDB`);
      const [rows] = await conn.query<AppliedRow[]>("SELECT version, name, checksum FROM schema_migrations ORDER BY version");
      verifyApplied(rows, migrations);
      const applied = new Set(rows.map((row) => row.version));
      const done: number[] = [];
      for (const migration of migrations.filter((m) => !applied.has(m.version))) {
        await apply(conn, migration, logger);
        done.push(migration.version);
      }
      return done;
    } finally {
      await conn.query("SELECT RELEASE_LOCK(?)", [LOCK_NAME]);
    }
  } finally {
    conn.release();
  }
}

async function acquireLock(conn: PoolConnection): Promise<void> {
  const [rows] = await conn.query<RowDataPacket[]>("SELECT GET_LOCK(?, ?) AS got", [LOCK_NAME, LOCK_WAIT_SECONDS]);
  if (rows[0]?.got !== 1) {
    throw new DatabaseError(`another process held the migration lock for more than ${LOCK_WAIT_SECONDS} s`);
  }
}

async function apply(conn: PoolConnection, migration: Migration, logger: Logger): Promise<void> {
  const started = Date.now();
  for (const statement of migration.statements) await conn.query(statement);
  await conn.query("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, NOW(3))", [
    migration.version,
    migration.name,
    migrationChecksum(migration),
  ]);
  logger.info("migration applied", { version: migration.version, name: migration.name, durationMs: Date.now() - started });
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
      throw new DatabaseError(`database has migration ${row.version} ('${row.name}'), which this version of Lockstep does not know: refusing to run against a newer schema`);
    }
    if (migrationChecksum(known) !== row.checksum) {
      throw new DatabaseError(`migration ${row.version} ('${row.name}') was changed after it was applied: add a new migration instead`);
    }
  }
}
