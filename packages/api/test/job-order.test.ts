import anyTest, { type TestFn } from "ava";
import type { RowDataPacket } from "mysql2/promise";
import { createMemoryLogger, systemClock, type AgentClient } from "@lockstep/shared";
import { requireSpec } from "../src/containers/container-schemas.js";
import { migrate } from "../src/db/migrate.js";
import { migrations } from "../src/db/migrations/index.js";
import { runJob, WaitForEarlierJobError } from "../src/dispatch/job-handlers.js";
import { JobStore } from "../src/dispatch/job-store.js";
import { beginDeletion, insertPendingContainer, markRunning } from "../src/lifecycle/container-lifecycle.js";
import { enqueueOperation } from "../src/lifecycle/operation-lifecycle.js";
import { createTestDatabase, type TestDatabase } from "./support/test-database.js";

const test = anyTest as TestFn<{ db: TestDatabase }>;
const RECORD = "9b2f4a10-3c1e-4d7a-8f66-2e5d0c7b1a44";
const SPEC = requireSpec({
  hostname: "web-1",
  source: { template: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst" },
});
const T0 = new Date();
const at = (ms: number) => new Date(T0.getTime() + ms);

test.beforeEach(async (t) => {
  const db = await createTestDatabase();
  await migrate(db.pool, migrations, createMemoryLogger());
  await db.pool.transaction(async (tx) => {
    await tx.query(
      "INSERT INTO nodes (name, address, created_at, updated_at) VALUES ('pve1', '127.0.0.1:7000', ?, ?)",
      [T0, T0],
    );
    await insertPendingContainer(tx, { id: RECORD, node: "pve1", vmid: 10001, hostname: "web-1", spec: SPEC }, T0);
    await markRunning(tx, RECORD, T0);
  });
  t.context = { db };
});
test.afterEach.always(async (t) => t.context.db?.drop());

// No agent is reached before a job knows it may run.
const noAgents = { forNode: async () => ({}) as AgentClient, close: () => undefined };

test("a delete committed after an apply waits for it, even when its request read the clock first", async (t) => {
  const { pool } = t.context.db;
  // The delete's request took its time, then waited for the row lock the apply held.
  await pool.transaction((tx) =>
    enqueueOperation(
      tx,
      { id: "op-apply", containerId: RECORD, node: "pve1", kind: "apply", spec: SPEC, maxAttempts: 5 },
      at(500),
    ),
  );
  await pool.transaction(async (tx) => {
    await beginDeletion(tx, RECORD, at(100));
    await enqueueOperation(
      tx,
      { id: "op-delete", containerId: RECORD, node: "pve1", kind: "delete", maxAttempts: 5 },
      at(100),
    );
  });
  const jobs = new JobStore(pool, systemClock, "test", 60_000);
  const claimed = await jobs.claim(10);
  const del = claimed.find((job) => job.id === "op-delete");
  if (!del) return t.fail("the delete was not claimed");
  await t.throwsAsync(
    runJob(del, {
      db: pool,
      agents: noAgents,
      jobs,
      clock: systemClock,
      snapshotKeepLast: 3,
      ports: { min: 20000, max: 29999 },
    }),
    {
      instanceOf: WaitForEarlierJobError,
      message: /the apply of container .* is still running; this delete waits for it/,
    },
  );
});

test("jobs that existed before the sequence are numbered in the order they were created", async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.drop());
  await migrate(db.pool, migrations.slice(0, 11), createMemoryLogger());
  await db.pool.transaction(async (tx) => {
    await tx.query(
      "INSERT INTO nodes (name, address, created_at, updated_at) VALUES ('pve1', '127.0.0.1:7000', ?, ?)",
      [T0, T0],
    );
    // Rows as the code of that schema wrote them: today's lifecycle writes columns added since.
    await tx.query(
      "INSERT INTO containers (id, node, vmid, hostname, spec, desired_state, status, created_at, updated_at) VALUES (?, 'pve1', 10001, 'web-1', ?, 'running', 'pending', ?, ?)",
      [RECORD, JSON.stringify(SPEC), T0, T0],
    );
    // Inserted, and keyed, in an order other than their creation's.
    for (const [id, ms] of [
      ["op-c", 300],
      ["op-a", 100],
      ["op-b", 200],
    ] as const)
      await tx.query(
        "INSERT INTO operations (id, container_id, node, kind, status, attempts, max_attempts, next_attempt_at, input, steps, created_at, updated_at) VALUES (?, ?, 'pve1', 'apply', 'queued', 0, 5, ?, ?, '[]', ?, ?)",
        [id, RECORD, at(ms), JSON.stringify({ spec: SPEC }), at(ms), at(ms)],
      );
  });
  await migrate(db.pool, migrations, createMemoryLogger());
  const [rows] = await db.pool.query<RowDataPacket[]>("SELECT id FROM operations ORDER BY seq");
  t.deepEqual(
    rows.map((r) => r.id),
    ["op-a", "op-b", "op-c"],
  );
  await db.pool.transaction((tx) =>
    enqueueOperation(
      tx,
      { id: "op-d", containerId: RECORD, node: "pve1", kind: "apply", spec: SPEC, maxAttempts: 5 },
      at(0),
    ),
  );
  const [[last]] = await db.pool.query<RowDataPacket[]>("SELECT id FROM operations ORDER BY seq DESC LIMIT 1");
  t.is(last?.id, "op-d", "a job added later comes after them, whatever its clock said");
});
