// The API's port to MariaDB against a real server: what it runs again, what it does not, and
// what it answers once its retry budget is spent.
import anyTest, { type TestFn } from "ava";
import type { RowDataPacket } from "mysql2/promise";
import { createMemoryLogger, LockstepError, type Clock } from "@lockstep/shared";
import { openDatabase, type Database } from "../src/db/database.js";
import { DatabaseUnavailableError } from "../src/db/database-unavailable-error.js";
import { migrate } from "../src/db/migrate.js";
import { migrations } from "../src/db/migrations/index.js";
import { testApp } from "./support/test-app.js";
import { createTestDatabase, type TestDatabase } from "./support/test-database.js";

const test = anyTest as TestFn<{ db: TestDatabase }>;

test.beforeEach(async (t) => {
  const db = await createTestDatabase();
  await db.pool.query("CREATE TABLE counters (id INT PRIMARY KEY, n INT NOT NULL)");
  await db.pool.query("INSERT INTO counters VALUES (1, 0), (2, 0)");
  t.context = { db };
});
test.afterEach.always(async (t) => t.context.db?.drop());

/** A clock whose sleeps pass at once (and count), so that backoff costs no real time. */
function skippingClock(): Clock & { slept: number[] } {
  let now = 1_700_000_000_000;
  const slept: number[] = [];
  return { slept, now: () => now, sleep: async (ms) => void (slept.push(ms), (now += ms)) };
}

async function counter(db: Database, id: number): Promise<number> {
  const [rows] = await db.query<RowDataPacket[]>("SELECT n FROM counters WHERE id = ?", [id]);
  return rows[0]!.n as number;
}

test("two transactions that deadlock both commit: the one the server rolled back is run again whole", async (t) => {
  const { pool } = t.context.db;
  let attempts = 0;
  let bothHoldOne!: () => void;
  const met = new Promise<void>((resolve) => (bothHoldOne = resolve));
  let holding = 0;
  // Each locks one row, waits until the other holds its own, then wants the other's row.
  const crossing = (first: number, second: number) =>
    pool.transaction(async (tx) => {
      attempts++;
      await tx.query("UPDATE counters SET n = n + 1 WHERE id = ?", [first]);
      if (++holding === 2) bothHoldOne();
      await met;
      await tx.query("UPDATE counters SET n = n + 1 WHERE id = ?", [second]);
    });
  await Promise.all([crossing(1, 2), crossing(2, 1)]);
  t.is(attempts, 3, "one of the two was run a second time");
  t.deepEqual([await counter(pool, 1), await counter(pool, 2)], [2, 2], "each committed exactly once");
});

test("a transaction whose connection is killed mid-way is run again on a new connection, and commits once", async (t) => {
  const { pool } = t.context.db;
  let attempts = 0;
  await pool.transaction(async (tx) => {
    attempts++;
    await tx.query("UPDATE counters SET n = n + 1 WHERE id = 1");
    if (attempts === 1) {
      const [[me]] = await tx.query<RowDataPacket[]>("SELECT CONNECTION_ID() AS id");
      await pool.query(`KILL CONNECTION ${Number(me!.id)}`);
      await tx.query("SELECT 1");
    }
  });
  t.is(attempts, 2);
  t.is(await counter(pool, 1), 1, "the killed attempt kept nothing");
});

test("a failure the server did not roll back for a retry (a duplicate key) is thrown at once, and nothing is kept", async (t) => {
  const { pool } = t.context.db;
  let attempts = 0;
  const err = await t.throwsAsync(
    pool.transaction(async (tx) => {
      attempts++;
      await tx.query("UPDATE counters SET n = 5 WHERE id = 2");
      await tx.query("INSERT INTO counters VALUES (1, 0)");
    }),
  );
  t.is((err as { errno?: number }).errno, 1062);
  t.is(attempts, 1);
  t.is(await counter(pool, 2), 0);
});

test("a database that keeps failing past the retry budget is a DatabaseUnavailableError, after backing off", async (t) => {
  const clock = skippingClock();
  // Nothing listens on port 1: every connect is refused.
  const unreachable = openDatabase("mysql://lockstep:x@127.0.0.1:1/lockstep", {
    clock,
    retry: { budgetMs: 2_000, baseMs: 10, maxMs: 500 },
    random: () => 1,
  });
  t.teardown(() => unreachable.end());
  const err = await t.throwsAsync(
    unreachable.transaction(async () => undefined),
    { instanceOf: DatabaseUnavailableError },
  );
  t.true(err instanceof LockstepError && err.code === "UNAVAILABLE");
  t.regex(err!.message, /the database is unavailable \(ECONNREFUSED: .*; \d+ attempt\(s\)\); retry shortly/);
  t.deepEqual(clock.slept.slice(0, 6), [10, 20, 40, 80, 160, 320], "exponential backoff");
  t.true(
    clock.slept.every((ms) => ms <= 500),
    "capped",
  );
  t.true(clock.slept.reduce((a, b) => a + b, 0) <= 2_000, "within the budget");
});

test("a single statement is retried like a transaction", async (t) => {
  const clock = skippingClock();
  const unreachable = openDatabase("mysql://lockstep:x@127.0.0.1:1/lockstep", {
    clock,
    retry: { budgetMs: 100, baseMs: 10, maxMs: 50 },
    random: () => 1,
  });
  t.teardown(() => unreachable.end());
  await t.throwsAsync(unreachable.query("SELECT 1"), { instanceOf: DatabaseUnavailableError });
  t.true(clock.slept.length >= 2);
});

test("a transaction whose statement gets no answer in time has its connection dropped and is run again whole, committing once", async (t) => {
  const db = openDatabase(t.context.db.url, { statementTimeoutMs: 300 });
  t.teardown(() => db.end());
  let attempts = 0;
  await db.transaction(async (tx) => {
    attempts++;
    // As a partitioned server would: the first attempt's statement is never answered in time.
    if (attempts === 1) await tx.query("SELECT SLEEP(5)");
    await tx.query("UPDATE counters SET n = n + 1 WHERE id = 1");
  });
  t.is(attempts, 2);
  t.is(await counter(t.context.db.pool, 1), 1);
});

test("a statement that never gets an answer in time is a DatabaseUnavailableError of a lost connection once the budget is spent", async (t) => {
  const db = openDatabase(t.context.db.url, {
    statementTimeoutMs: 200,
    clock: skippingClock(),
    retry: { budgetMs: 40, baseMs: 10, maxMs: 20 },
    random: () => 1,
  });
  t.teardown(() => db.end());
  const err = await t.throwsAsync(db.query("SELECT SLEEP(5)"), { instanceOf: DatabaseUnavailableError });
  t.is(err?.failure, "connection-lost");
  t.regex(err!.message, /STATEMENT_TIMEOUT: no answer from the database within 200 ms/);
  t.deepEqual(
    (await db.query<RowDataPacket[]>("SELECT 1 AS one"))[0],
    [{ one: 1 }],
    "the pool goes on with new connections",
  );
});

test("over HTTP, a database that stays unavailable through the retries is a 503 problem with Retry-After, never a 500", async (t) => {
  await migrate(t.context.db.pool, migrations, createMemoryLogger());
  const clock = skippingClock();
  const failing = openDatabase("mysql://lockstep:x@127.0.0.1:1/lockstep", {
    clock,
    retry: { budgetMs: 500, baseMs: 10, maxMs: 100 },
  });
  t.teardown(() => failing.end());
  // Tokens are checked against the real database; the containers' records are out of reach.
  const app = await testApp(t.context.db.pool, clock, { pool: failing });
  const res = await app.request("/v1/containers");
  t.is(res.status, 503);
  t.is(res.headers.get("retry-after"), "2");
  t.is(res.headers.get("content-type"), "application/problem+json");
  t.like(await res.json(), { type: "urn:lockstep:problem:database-unavailable", code: "UNAVAILABLE", status: 503 });
});
