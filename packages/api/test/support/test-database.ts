import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { openDatabase, type Database } from "../../src/db/database.js";

const URL_FILE = fileURLToPath(new URL("../../../../.local/mariadb/database-url", import.meta.url));

/** The project-local MariaDB started by scripts/mariadb.sh, or LOCKSTEP_TEST_DATABASE_URL. */
export function serverUrl(): string {
  const fromEnv = process.env.LOCKSTEP_TEST_DATABASE_URL;
  if (fromEnv) return fromEnv;
  try {
    return readFileSync(URL_FILE, "utf8").trim();
  } catch {
    throw new Error("no test database: run scripts/mariadb.sh start (or set LOCKSTEP_TEST_DATABASE_URL)");
  }
}

export interface TestDatabase {
  url: string;
  pool: Database;
  drop(): Promise<void>;
}

/**
 * A fresh, empty database of its own for one test file, dropped by `drop`: on the project's
 * MariaDB, or on `server` (a Galera cluster's proxy, for instance).
 */
export async function createTestDatabase(server = serverUrl()): Promise<TestDatabase> {
  const base = new URL(server);
  const name = `lockstep_test_${randomBytes(6).toString("hex")}`;
  const admin = openDatabase(base.toString(), { connectionLimit: 1 });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
  base.pathname = `/${name}`;
  const url = base.toString();
  const pool = openDatabase(url);
  return {
    url,
    pool,
    drop: async () => {
      await pool.end();
      const cleanup = openDatabase(server, { connectionLimit: 1 });
      await cleanup.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await cleanup.end();
    },
  };
}
