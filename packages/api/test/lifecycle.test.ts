// The one owner of the operation and container lifecycles: named transitions, each guarded
// by the states it leaves, and an attempt's writes fenced by its lease owner and number.
import anyTest, { type TestFn } from "ava";
import type { RowDataPacket } from "mysql2/promise";
import { createMemoryLogger } from "@lockstep/shared";
import { migrate } from "../src/db/migrate.js";
import { migrations } from "../src/db/migrations/index.js";
import {
  beginDeletion,
  changeSpec,
  changeVmid,
  finishDeletion,
  insertPendingContainer,
  markRunning,
} from "../src/lifecycle/container-lifecycle.js";
import {
  cancelUnstarted,
  claimOperations,
  deferOperation,
  enqueueOperation,
  holdsAttempt,
  succeedOperation,
} from "../src/lifecycle/operation-lifecycle.js";
import { createTestDatabase, type TestDatabase } from "./support/test-database.js";

const test = anyTest as TestFn<{ db: TestDatabase }>;
const T0 = new Date(Date.UTC(2026, 10, 30, 12));
const at = (ms: number) => new Date(T0.getTime() + ms);
const SPEC = {
  hostname: "web-1",
  source: { template: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst" },
} as never;

test.beforeEach(async (t) => {
  const db = await createTestDatabase();
  await migrate(db.pool, migrations, createMemoryLogger());
  await db.pool.query(
    "INSERT INTO nodes (name, address, created_at, updated_at) VALUES ('pve1', '127.0.0.1:7000', ?, ?)",
    [T0, T0],
  );
  await db.pool.transaction(async (tx) => {
    await insertPendingContainer(tx, { id: "ct-1", node: "pve1", vmid: 100, hostname: "web-1", spec: SPEC }, T0);
    await tx.query(
      "INSERT INTO vmid_allocations (vmid, node, container_id, owner, allocated_at) VALUES (100, 'pve1', 'ct-1', 'lockstep', ?)",
      [T0],
    );
    await enqueueOperation(
      tx,
      { id: "op-1", containerId: "ct-1", node: "pve1", kind: "create", spec: SPEC, maxAttempts: 5 },
      T0,
    );
  });
  t.context = { db };
});
test.afterEach.always(async (t) => t.context.db?.drop());

async function row(db: TestDatabase, sql: string): Promise<RowDataPacket> {
  const [rows] = await db.pool.query<RowDataPacket[]>(sql);
  return rows[0]!;
}

test("an attempt whose lease lapsed and was claimed again can no longer finish its operation; the new attempt can", async (t) => {
  const { pool } = t.context.db;
  const [first] = await pool.transaction((tx) => claimOperations(tx, "api-a", 1_000, 10, T0));
  const [second] = await pool.transaction((tx) => claimOperations(tx, "api-b", 1_000, 10, at(2_000)));
  t.like(second, { id: "op-1", attempts: 2, owner: "api-b" });
  t.false(await pool.transaction((tx) => holdsAttempt(tx, first!)));
  await pool.transaction((tx) => succeedOperation(tx, first!, { by: "a" }, at(3_000)));
  t.is(
    (await row(t.context.db, "SELECT status FROM operations")).status,
    "running",
    "the stale attempt changed nothing",
  );
  await pool.transaction((tx) => succeedOperation(tx, second!, { by: "b" }, at(3_000)));
  t.like(await row(t.context.db, "SELECT status, lease_owner FROM operations"), {
    status: "succeeded",
    lease_owner: null,
  });
});

test("a claimed attempt carries the spec it was queued with, and the VMID stays on the record alone", async (t) => {
  const [attempt] = await t.context.db.pool.transaction((tx) => claimOperations(tx, "api-a", 1_000, 10, T0));
  t.deepEqual(attempt!.spec, SPEC);
  t.is((await row(t.context.db, "SELECT JSON_EXTRACT(input, '$.vmid') IS NULL AS none FROM operations")).none, 1);
});

test("a record being deleted takes no new spec, and a deleted one is not made running again", async (t) => {
  const { pool } = t.context.db;
  await pool.transaction((tx) => beginDeletion(tx, "ct-1", at(1)));
  t.false(await pool.transaction((tx) => changeSpec(tx, "ct-1", SPEC, at(2))));
  await pool.transaction((tx) => finishDeletion(tx, "ct-1", at(3)));
  await pool.transaction((tx) => markRunning(tx, "ct-1", at(4)));
  t.is((await row(t.context.db, "SELECT status FROM containers")).status, "deleted");
});

test("only a deletion that finishes frees the record's VMID", async (t) => {
  const { pool } = t.context.db;
  await pool.transaction((tx) => finishDeletion(tx, "ct-1", at(1)));
  t.is(
    (await row(t.context.db, "SELECT COUNT(*) AS n FROM vmid_allocations")).n,
    1,
    "a record not being deleted keeps its VMID",
  );
  await pool.transaction((tx) => beginDeletion(tx, "ct-1", at(2)));
  await pool.transaction((tx) => finishDeletion(tx, "ct-1", at(3)));
  t.is((await row(t.context.db, "SELECT COUNT(*) AS n FROM vmid_allocations")).n, 0);
});

async function statuses(db: TestDatabase): Promise<Record<string, string>> {
  const [rows] = await db.pool.query<RowDataPacket[]>("SELECT id, status FROM operations ORDER BY id");
  return Object.fromEntries(rows.map((r) => [r.id as string, r.status as string]));
}

const queueApply = (db: TestDatabase, id: string) =>
  db.pool.transaction((tx) =>
    enqueueOperation(tx, { id, containerId: "ct-1", node: "pve1", kind: "apply", spec: SPEC, maxAttempts: 5 }, at(1)),
  );

test("cancelling a create that never started cancels the applies queued behind it too", async (t) => {
  await queueApply(t.context.db, "op-2");
  t.true(await t.context.db.pool.transaction((tx) => cancelUnstarted(tx, "ct-1", at(2))));
  t.deepEqual(await statuses(t.context.db), { "op-1": "cancelled", "op-2": "cancelled" });
});

test("a container one of whose jobs is running has nothing cancelled: its delete must wait for it", async (t) => {
  await queueApply(t.context.db, "op-2");
  // A dispatcher claimed the apply (it will wait for the create); the create is still unstarted.
  await t.context.db.pool.query(
    "UPDATE operations SET status = 'running', attempts = 1, lease_owner = 'api-a', lease_expires_at = ? WHERE id = 'op-2'",
    [at(60_000)],
  );
  t.false(await t.context.db.pool.transaction((tx) => cancelUnstarted(tx, "ct-1", at(2))));
  t.deepEqual(await statuses(t.context.db), { "op-1": "queued", "op-2": "running" });
});

test("a create that was attempted is not cancelled", async (t) => {
  await t.context.db.pool.transaction((tx) => claimOperations(tx, "api-a", 1_000, 10, T0));
  await t.context.db.pool.query(
    "UPDATE operations SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL WHERE id = 'op-1'",
  );
  t.false(await t.context.db.pool.transaction((tx) => cancelUnstarted(tx, "ct-1", at(2))));
  t.is((await statuses(t.context.db))["op-1"], "queued");
});

test("a create deferred after its claim is not cancelled, though its attempt was given back: it may have made its container", async (t) => {
  const { pool } = t.context.db;
  const [attempt] = await pool.transaction((tx) => claimOperations(tx, "api-a", 1_000, 10, T0));
  // The agent still runs the create on the node (an orphaned task worker): asked again later.
  await pool.transaction((tx) => deferOperation(tx, attempt!, null, at(1_000), at(1)));
  t.like(await row(t.context.db, "SELECT status, attempts FROM operations WHERE id = 'op-1'"), {
    status: "queued",
    attempts: 0,
  });
  t.false(await pool.transaction((tx) => cancelUnstarted(tx, "ct-1", at(2))));
  t.is((await statuses(t.context.db))["op-1"], "queued");
});

test("a record being deleted while its create has made nothing takes another VMID; a running or deleted one does not", async (t) => {
  const { pool } = t.context.db;
  await pool.transaction((tx) => beginDeletion(tx, "ct-1", at(1)));
  t.true(await pool.transaction((tx) => changeVmid(tx, "ct-1", 101, at(2))));
  await pool.transaction((tx) => finishDeletion(tx, "ct-1", at(3)));
  t.false(await pool.transaction((tx) => changeVmid(tx, "ct-1", 102, at(4))));
  t.is((await row(t.context.db, "SELECT vmid FROM containers")).vmid, 101);
});
