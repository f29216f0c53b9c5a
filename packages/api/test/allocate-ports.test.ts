import anyTest, { type TestFn } from "ava";
import { createMemoryLogger, LockstepError } from "@lockstep/shared";
import { allocatePorts, type PortRange } from "../src/allocation/allocate-ports.js";
import { migrate } from "../src/db/migrate.js";
import { migrations } from "../src/db/migrations/index.js";
import { createTestDatabase, type TestDatabase } from "./support/test-database.js";

const test = anyTest as TestFn<{ db: TestDatabase }>;
const RANGE: PortRange = { min: 20000, max: 20003 };
const NOW = new Date("2026-11-30T10:00:00Z");

test.beforeEach(async (t) => {
  const db = await createTestDatabase();
  await migrate(db.pool, migrations, createMemoryLogger());
  t.context = { db };
});
test.afterEach.always(async (t) => t.context.db?.drop());

const allocate = (db: TestDatabase, containerId: string, names: string[]) =>
  db.pool.transaction((tx) => allocatePorts(tx, RANGE, "pve1", containerId, names, NOW));
const take = (db: TestDatabase, port: number, node = "pve1") =>
  db.pool.query(
    "INSERT INTO port_allocations (node, port, container_id, name, allocated_at) VALUES (?, ?, ?, 'other', ?)",
    [node, port, `holder-${node}-${port}`, NOW],
  );

test("each name gets the lowest free port of the node's range", async (t) => {
  await take(t.context.db, 20001);
  await take(t.context.db, 20000, "pve2");
  t.deepEqual(await allocate(t.context.db, "ct-1", ["ssh", "http"]), { ssh: 20000, http: 20002 });
});

test("a port taken after the transaction's snapshot fails its insert and the next free port is taken", async (t) => {
  const ports = await t.context.db.pool.transaction(async (tx) => {
    // The snapshot starts here; the port below is taken by another connection after it.
    await tx.query("SELECT COUNT(*) FROM port_allocations");
    await take(t.context.db, 20000);
    return allocatePorts(tx, RANGE, "pve1", "ct-1", ["ssh"], NOW);
  });
  t.deepEqual(ports, { ssh: 20001 });
});

test("a full range is refused as RESOURCE_EXHAUSTED and takes nothing", async (t) => {
  await allocate(t.context.db, "ct-1", ["a", "b", "c"]);
  const err = await t.throwsAsync(allocate(t.context.db, "ct-2", ["a", "b"]), { instanceOf: LockstepError });
  t.is(err?.code, "RESOURCE_EXHAUSTED");
  const [rows] = (await t.context.db.pool.query(
    "SELECT COUNT(*) AS n FROM port_allocations WHERE container_id = 'ct-2'",
  )) as unknown as [[{ n: number }]];
  t.is(rows[0].n, 0);
});
