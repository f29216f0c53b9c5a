import anyTest, { type TestFn } from "ava";
import { createMemoryLogger, LockstepError } from "@lockstep/shared";
import { allocateVmid, type VmidRange } from "../src/allocation/vmid-allocator.js";
import { migrate } from "../src/db/migrate.js";
import { migrations } from "../src/db/migrations/index.js";
import { createTestDatabase, type TestDatabase } from "./support/test-database.js";

const test = anyTest as TestFn<{ db: TestDatabase }>;
const RANGE: VmidRange = { min: 100, max: 109 };
const NOW = new Date("2026-11-23T10:00:00Z");

test.beforeEach(async (t) => {
  const db = await createTestDatabase();
  await migrate(db.pool, migrations, createMemoryLogger());
  t.context = { db };
});
test.afterEach.always(async (t) => t.context.db?.drop());

let containers = 0;
async function allocate(db: TestDatabase, range = RANGE): Promise<number> {
  return db.pool.transaction((tx) => allocateVmid(tx, range, "pve1", `ct-${++containers}`, NOW));
}

async function allocateMany(db: TestDatabase, n: number, range = RANGE): Promise<number[]> {
  const vmids: number[] = [];
  for (let i = 0; i < n; i++) vmids.push(await allocate(db, range));
  return vmids;
}

const take = (db: TestDatabase, vmid: number, owner = "foreign") =>
  db.pool.query(
    "INSERT INTO vmid_allocations (vmid, node, container_id, owner, allocated_at) VALUES (?, 'pve1', NULL, ?, ?)",
    [vmid, owner, NOW],
  );
const free = (db: TestDatabase, vmid: number) => db.pool.query("DELETE FROM vmid_allocations WHERE vmid = ?", [vmid]);

test("VMIDs go out in rising order from the start of the range", async (t) => {
  t.deepEqual(await allocateMany(t.context.db, 3), [100, 101, 102]);
});

test("a VMID someone else holds is skipped", async (t) => {
  await take(t.context.db, 100);
  await take(t.context.db, 102);
  t.deepEqual(await allocateMany(t.context.db, 2), [101, 103]);
});

test("a VMID a foreign guest took after it was made ready to hand out is skipped", async (t) => {
  t.is(await allocate(t.context.db), 100);
  await take(t.context.db, 101);
  t.deepEqual(await allocateMany(t.context.db, 2), [102, 103]);
});

test("a run of taken VMIDs longer than one read is skipped", async (t) => {
  const wide: VmidRange = { min: 1000, max: 1999 };
  for (let vmid = 1000; vmid < 1200; vmid++) await take(t.context.db, vmid);
  t.is(await allocate(t.context.db, wide), 1200);
});

test("a freed VMID is not handed out again before the range comes round", async (t) => {
  await allocateMany(t.context.db, 3);
  await free(t.context.db, 100);
  t.deepEqual(await allocateMany(t.context.db, 7), [103, 104, 105, 106, 107, 108, 109]);
  t.is(await allocate(t.context.db), 100);
});

test("at the end of the range allocation wraps to the lowest free VMID", async (t) => {
  await allocateMany(t.context.db, 10);
  await free(t.context.db, 104);
  await free(t.context.db, 102);
  t.deepEqual(await allocateMany(t.context.db, 2), [102, 104]);
});

test("a full range is refused as RESOURCE_EXHAUSTED and takes nothing", async (t) => {
  await allocateMany(t.context.db, 10);
  const err = await t.throwsAsync(allocate(t.context.db), { instanceOf: LockstepError });
  t.is(err?.code, "RESOURCE_EXHAUSTED");
  const [[count]] = (await t.context.db.pool.query("SELECT COUNT(*) AS n FROM vmid_allocations")) as unknown as [
    [{ n: number }],
  ];
  t.is(count!.n, 10);
});

test("after the range is moved, allocation starts at the new range's start", async (t) => {
  await allocateMany(t.context.db, 3);
  t.is(await allocate(t.context.db, { min: 500, max: 599 }), 500);
  t.is(await allocate(t.context.db, { min: 50_000, max: 50_009 }), 50_000);
});

test("concurrent allocations never hand out one VMID twice", async (t) => {
  const wide: VmidRange = { min: 1000, max: 1999 };
  const vmids = await Promise.all(Array.from({ length: 40 }, () => allocate(t.context.db, wide)));
  t.is(new Set(vmids).size, 40);
  t.deepEqual(
    [...vmids].sort((a, b) => a - b),
    Array.from({ length: 40 }, (_, i) => 1000 + i),
  );
});

test("an allocation does not wait for another one still uncommitted, once VMIDs are ready to hand out", async (t) => {
  const wide: VmidRange = { min: 1000, max: 1999 };
  // The first allocation readies the next VMIDs and holds the allocator's row until it commits.
  t.is(await allocate(t.context.db, wide), 1000);
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let first = 0;
  const open = t.context.db.pool.transaction(async (tx) => {
    first = await allocateVmid(tx, wide, "pve1", "ct-open", NOW);
    await held;
  });
  while (first === 0) await new Promise((r) => setImmediate(r));
  // Were the second to wait for the first's locks, it could not finish before the first commits.
  const second = await allocate(t.context.db, wide);
  release();
  await open;
  t.deepEqual([first, second], [1001, 1002]);
});
