import anyTest, { type TestFn } from "ava";
import type { RowDataPacket } from "mysql2/promise";
import { createMemoryLogger } from "@lockstep/shared";
import { migrate, migrationChecksum } from "../src/db/migrate.js";
import { migrations, type Migration } from "../src/db/migrations/index.js";
import { createTestDatabase, type TestDatabase } from "./support/test-database.js";

const test = anyTest as TestFn<{ db: TestDatabase }>;

test.beforeEach(async (t) => {
  t.context.db = await createTestDatabase();
});
test.afterEach.always(async (t) => {
  await t.context.db?.drop();
});

async function appliedVersions(db: TestDatabase): Promise<number[]> {
  const [rows] = await db.pool.query<RowDataPacket[]>("SELECT version FROM schema_migrations ORDER BY version");
  return rows.map((row) => row.version as number);
}

test("a fresh database gets every migration in order", async (t) => {
  const applied = await migrate(t.context.db.pool, migrations, createMemoryLogger());
  t.deepEqual(
    applied,
    migrations.map((m) => m.version),
  );
  t.deepEqual(
    await appliedVersions(t.context.db),
    migrations.map((m) => m.version),
  );
  const [tables] = await t.context.db.pool.query<RowDataPacket[]>("SHOW TABLES");
  const names = tables.map((row) => Object.values(row)[0]);
  for (const table of [
    "nodes",
    "containers",
    "vmid_allocations",
    "port_allocations",
    "operations",
    "idempotency_keys",
    "incidents",
  ]) {
    t.true(names.includes(table), `table ${table} exists`);
  }
});

test("running migrations again applies nothing", async (t) => {
  await migrate(t.context.db.pool, migrations, createMemoryLogger());
  t.deepEqual(await migrate(t.context.db.pool, migrations, createMemoryLogger()), []);
});

test("a later migration is applied on top of earlier ones", async (t) => {
  await migrate(t.context.db.pool, migrations, createMemoryLogger());
  const next: Migration = {
    version: migrations.length + 1,
    name: "add-probe",
    statements: ["CREATE TABLE probe (id INT PRIMARY KEY)"],
  };
  t.deepEqual(await migrate(t.context.db.pool, [...migrations, next], createMemoryLogger()), [next.version]);
});

test("concurrent starts apply each migration exactly once", async (t) => {
  const logs = Array.from({ length: 5 }, () => createMemoryLogger());
  const results = await Promise.all(logs.map((log) => migrate(t.context.db.pool, migrations, log)));
  t.deepEqual(
    results.flat().sort((a, b) => a - b),
    migrations.map((m) => m.version),
  );
  t.deepEqual(
    await appliedVersions(t.context.db),
    migrations.map((m) => m.version),
  );
});

test("an applied migration that was edited is refused", async (t) => {
  await migrate(t.context.db.pool, migrations, createMemoryLogger());
  const edited = migrations.map((m, i) => (i === 0 ? { ...m, statements: [...m.statements, "SELECT 1"] } : m));
  await t.throwsAsync(migrate(t.context.db.pool, edited, createMemoryLogger()), {
    message: /was changed after it was applied/,
  });
});

test("a database ahead of this code is refused", async (t) => {
  await migrate(t.context.db.pool, migrations, createMemoryLogger());
  await t.context.db.pool.query("INSERT INTO schema_migrations VALUES (?, 'future', ?, NOW(3))", [
    migrations.length + 1,
    migrationChecksum(migrations[0]!),
  ]);
  await t.throwsAsync(migrate(t.context.db.pool, migrations, createMemoryLogger()), { message: /does not know/ });
});

test("migrations out of order are refused before touching the database", async (t) => {
  const gap: Migration = { version: migrations.length + 2, name: "gap", statements: [] };
  await t.throwsAsync(migrate(t.context.db.pool, [...migrations, gap], createMemoryLogger()), { message: /expected/ });
});
