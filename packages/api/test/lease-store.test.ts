// Leases: "one at a time" as a row with a holder, an expiry and a fencing token.
import anyTest, { type TestFn } from "ava";
import type { RowDataPacket } from "mysql2/promise";
import { createMemoryLogger, LockstepError, ManualClock } from "@lockstep/shared";
import { migrate } from "../src/db/migrate.js";
import { migrations } from "../src/db/migrations/index.js";
import { LeaseLostError } from "../src/leases/lease-lost-error.js";
import { LeaseStore, type Lease } from "../src/leases/lease-store.js";
import { createTestDatabase, type TestDatabase } from "./support/test-database.js";

const test = anyTest as TestFn<{ db: TestDatabase; clock: ManualClock; a: LeaseStore; b: LeaseStore }>;

test.beforeEach(async (t) => {
  const db = await createTestDatabase();
  await migrate(db.pool, migrations, createMemoryLogger());
  await db.pool.query("CREATE TABLE work_done (by_owner VARCHAR(191) NOT NULL)");
  const clock = new ManualClock();
  // Two API processes sharing one database.
  t.context = { db, clock, a: new LeaseStore(db.pool, clock, "api-a"), b: new LeaseStore(db.pool, clock, "api-b") };
});
test.afterEach.always(async (t) => t.context.db?.drop());

/** A write fenced by `lease`, as every write of leased work is. */
async function fencedWrite(t: { context: { db: TestDatabase } }, store: LeaseStore, lease: Lease): Promise<void> {
  await t.context.db.pool.transaction(async (tx) => {
    await store.check(tx, lease);
    await tx.query("INSERT INTO work_done VALUES (?)", [lease.owner]);
  });
}

test("a free lease is taken with token 1, and a second taker is refused while it holds", async (t) => {
  const lease = await t.context.a.acquire("reconcile/pve1", 10_000);
  t.like(lease, { name: "reconcile/pve1", token: 1 });
  t.is(await t.context.b.acquire("reconcile/pve1", 10_000), null);
  t.is(await t.context.a.acquire("reconcile/pve1", 10_000), null, "two holdings in one process exclude each other too");
});

test("an expired lease is taken over with a higher token, and the old holder's fenced writes are refused", async (t) => {
  const old = (await t.context.a.acquire("reconcile/pve1", 10_000))!;
  t.context.clock.advance(10_001);
  const taken = (await t.context.b.acquire("reconcile/pve1", 10_000))!;
  t.is(taken.token, old.token + 1);
  const err = await t.throwsAsync(fencedWrite(t, t.context.a, old), { instanceOf: LeaseLostError });
  t.true(err instanceof LockstepError && err.code === "UNAVAILABLE");
  await fencedWrite(t, t.context.b, taken);
  const [rows] = await t.context.db.pool.query<RowDataPacket[]>("SELECT by_owner FROM work_done");
  t.deepEqual(
    rows.map((r) => r.by_owner),
    [taken.owner],
    "only the holder's write committed",
  );
});

test("a holder that renews in time keeps its lease past the first expiry", async (t) => {
  const lease = (await t.context.a.acquire("monitor", 10_000))!;
  t.context.clock.advance(9_000);
  t.true(await t.context.a.renew(lease, 10_000));
  t.context.clock.advance(9_000);
  t.is(await t.context.b.acquire("monitor", 10_000), null);
  await fencedWrite(t, t.context.a, lease);
  t.pass();
});

test("a holder whose lease was taken over cannot renew it", async (t) => {
  const old = (await t.context.a.acquire("monitor", 10_000))!;
  t.context.clock.advance(10_001);
  await t.context.b.acquire("monitor", 10_000);
  t.false(await t.context.a.renew(old, 10_000));
});

test("a released lease is free at once, and taken with the next token", async (t) => {
  const first = (await t.context.a.acquire("purge", 60_000))!;
  await t.context.a.release(first);
  t.like(await t.context.b.acquire("purge", 60_000), { token: 2 });
});

test("hold runs the work under the lease and releases it after; a second holder meanwhile gets null", async (t) => {
  let inside: unknown = undefined;
  const held = await t.context.a.hold("reconcile/pve2", { ttlMs: 60_000, waitMs: 0 }, async (lease) => {
    inside = await t.context.b.hold("reconcile/pve2", { ttlMs: 60_000, waitMs: 0 }, async () => "ran twice");
    await fencedWrite(t, t.context.a, lease);
    return lease.token;
  });
  t.deepEqual(held, { value: 1 });
  t.is(inside, null);
  t.like(await t.context.b.acquire("reconcile/pve2", 60_000), { token: 2 }, "released after the work");
});

test("a lease's row keeps its token across holders: tokens only grow", async (t) => {
  const tokens: number[] = [];
  for (const store of [t.context.a, t.context.b, t.context.a]) {
    const lease = (await store.acquire("migrate", 1_000))!;
    tokens.push(lease.token);
    await store.release(lease);
  }
  t.deepEqual(tokens, [1, 2, 3]);
});
