import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createPool } from "../../packages/api/src/db/pool.js";
import type { TestDatabase } from "../../packages/api/test/support/test-database.js";

const URL_FILE = fileURLToPath(new URL("../../.local/galera/database-url", import.meta.url));

/**
 * The proxy of the Galera cluster the test run shares: LOCKSTEP_TEST_GALERA_URL (scripts/test.sh
 * sets it after `scripts/galera.sh start`), else the one scripts/galera.sh started under
 * .local/galera.
 */
export function galeraServerUrl(): string {
  const fromEnv = process.env.LOCKSTEP_TEST_GALERA_URL;
  if (fromEnv) return fromEnv;
  try {
    return readFileSync(URL_FILE, "utf8").trim();
  } catch {
    throw new Error("no Galera test cluster: run scripts/galera.sh start as root (or set LOCKSTEP_TEST_GALERA_URL)");
  }
}

/**
 * A fresh, empty database of its own on the shared Galera cluster, reached through the proxy
 * (so on the one writer node), dropped by `drop`. The same shape as `createTestDatabase`, so a
 * test can run on either topology.
 */
export async function createGaleraTestDatabase(): Promise<TestDatabase> {
  const server = galeraServerUrl();
  const base = new URL(server);
  const name = `lockstep_test_${randomBytes(6).toString("hex")}`;
  const admin = createPool(server, 1);
  try {
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await admin.end();
  }
  base.pathname = `/${name}`;
  const url = base.toString();
  const pool = createPool(url);
  return {
    url,
    pool,
    drop: async () => {
      await pool.end();
      const cleanup = createPool(server, 1);
      try {
        await cleanup.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await cleanup.end();
      }
    },
  };
}
