// The API's control plane on MariaDB Galera (scripts/galera.sh): leases and job claims made
// from two database nodes at once, a lease across a writer failover, and concurrent deletes,
// against a cluster of this file's own.
import anyTest, { type TestFn } from "ava";
import type { RowDataPacket } from "mysql2/promise";
import { createMemoryLogger, ManualClock, systemClock } from "@lockstep/shared";
import { openDatabase, type Database } from "../../packages/api/src/db/database.js";
import { migrate } from "../../packages/api/src/db/migrate.js";
import { migrations } from "../../packages/api/src/db/migrations/index.js";
import { LeaseLostError } from "../../packages/api/src/leases/lease-lost-error.js";
import { LeaseStore, type Lease } from "../../packages/api/src/leases/lease-store.js";
import { claimOperations } from "../../packages/api/src/lifecycle/operation-lifecycle.js";
import { createTestDatabase, type TestDatabase } from "../../packages/api/test/support/test-database.js";
import { testApp } from "../../packages/api/test/support/test-app.js";
import { GaleraCluster, type GaleraNode } from "../support/galera-cluster.js";

// mariadbd runs as the mysql user and HAProxy as haproxy: root only; CI runs as root and must never skip this.
const canRun = process.getuid?.() === 0 || process.env.CI === "true";
const test = anyTest as TestFn<unknown>;
const serial = canRun ? test.serial : test.serial.skip;

// Long enough to ride out the writer's eviction (about 6 s measured, docs/galera.md) on a loaded machine.
const FAILOVER_RETRY = { budgetMs: 60_000, baseMs: 20, maxMs: 1_000 };

let cluster: GaleraCluster;
let db: TestDatabase;
let failed = false;
const opened: Database[] = [];

test.before(async (t) => {
  if (!canRun) return;
  t.timeout(20 * 60_000);
  cluster = await GaleraCluster.start();
  db = await createTestDatabase(cluster.url);
  await migrate(db.pool, migrations, createMemoryLogger());
});
test.afterEach.always((t) => {
  if (!t.passed) failed = true;
});
test.after.always(async (t) => {
  if (!cluster) return;
  t.timeout(5 * 60_000);
  for (const each of opened) await each.end().catch(() => undefined);
  await db?.drop().catch(() => undefined);
  if (failed) t.log(`kept ${cluster.dir}`);
  await cluster.destroy(failed);
});

/** The test database on node `node` itself, bypassing the proxy: a second writer, as a misrouted API process would be. */
async function onNode(node: GaleraNode): Promise<Database> {
  const url = new URL(await cluster.nodeUrl(node));
  url.pathname = new URL(db.url).pathname;
  const opening = openDatabase(url.toString(), { connectionLimit: 4 });
  opened.push(opening);
  return opening;
}

serial(
  "leases taken from two Galera nodes at once have one holder each round (certification decides, the loser sees the winner)",
  async (t) => {
    t.timeout(5 * 60_000);
    const [a, b] = [
      new LeaseStore(await onNode("n1"), systemClock, "api-on-n1"),
      new LeaseStore(await onNode("n2"), systemClock, "api-on-n2"),
    ];
    for (let round = 0; round < 30; round++) {
      const held = await Promise.all([
        a.acquire(`reconcile/node-${round}`, 60_000),
        b.acquire(`reconcile/node-${round}`, 60_000),
      ]);
      t.is(held.filter(Boolean).length, 1, `round ${round}: ${JSON.stringify(held)}`);
    }
  },
);

serial("jobs claimed by dispatchers on two Galera nodes are each claimed once", async (t) => {
  t.timeout(5 * 60_000);
  const now = new Date();
  const rows = Array.from({ length: 60 }, (_, i) => [
    `galera-job-${i}`,
    "pve1",
    "apply",
    "queued",
    0,
    5,
    now,
    "{}",
    "[]",
    now,
    now,
  ]);
  await db.pool.query(
    "INSERT INTO operations (id, node, kind, status, attempts, max_attempts, next_attempt_at, input, steps, created_at, updated_at) VALUES ?",
    [rows],
  );
  const claimed: string[] = [];
  const dispatcher = async (where: Database, owner: string): Promise<number> => {
    let mine = 0;
    for (;;) {
      const batch = await where.transaction((tx) => claimOperations(tx, owner, 600_000, 4, new Date()));
      if (batch.length === 0) return mine;
      claimed.push(...batch.map((job) => job.id));
      mine += batch.length;
    }
  };
  const split = await Promise.all([
    dispatcher(await onNode("n1"), "dispatcher-n1"),
    dispatcher(await onNode("n2"), "dispatcher-n2"),
  ]);
  t.log(`claimed on n1: ${split[0]}, on n2: ${split[1]}`);
  t.is(claimed.length, 60, "every job claimed once in all");
  t.is(new Set(claimed).size, 60, "none twice");
  const [attempts] = await db.pool.query<RowDataPacket[]>(
    "SELECT DISTINCT attempts FROM operations WHERE id LIKE 'galera-job-%'",
  );
  t.deepEqual(
    attempts.map((r) => r.attempts),
    [1],
  );
});

serial("200 concurrent deletes of 50 containers through the proxy answer no 5xx", async (t) => {
  t.timeout(5 * 60_000);
  const app = await testApp(db.pool, systemClock, {
    vmids: { min: 5000, max: 5999 },
    ports: { min: 40000, max: 40999 },
  });
  const send = (method: string, path: string, body: unknown, key: string) =>
    app.request(path, {
      method,
      body: JSON.stringify(body),
      headers: { "content-type": "application/json", "idempotency-key": key },
    });
  t.is((await send("POST", "/v1/nodes", { name: "pve1", address: "127.0.0.1:7000" }, "galera-node")).status, 201);
  const ids: string[] = [];
  for (let i = 0; i < 50; i++)
    ids.push(
      (
        (await (
          await send(
            "POST",
            "/v1/containers",
            {
              node: "pve1",
              spec: {
                hostname: `g-${i}`,
                source: { template: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst" },
              },
            },
            `galera-made-${i}`,
          )
        ).json()) as { id: string }
      ).id,
    );
  await db.pool.query(
    "UPDATE operations SET status = 'succeeded', attempts = 1, finished_at = NOW(3) WHERE kind = 'create'",
  );
  await db.pool.query("UPDATE containers SET status = 'running'");
  const results = await Promise.all(
    ids.flatMap((id) =>
      Array.from({ length: 4 }, (_, n) =>
        send("DELETE", `/v1/containers/${id}`, {}, `galera-delete-${id}-${n}`).then((res) => res.status),
      ),
    ),
  );
  t.deepEqual(
    results.filter((status) => status !== 202),
    [],
  );
});

serial(
  "a lease holds with its fencing token across a writer failover: the holder keeps it, a take-over after expiry gets the next token and the old holder's writes are refused",
  async (t) => {
    t.timeout(10 * 60_000);
    const clock = new ManualClock(Date.now());
    const proxied = openDatabase(db.url, { retry: FAILOVER_RETRY });
    opened.push(proxied);
    await proxied.query("CREATE TABLE IF NOT EXISTS fenced_writes (by_owner VARCHAR(191) NOT NULL)");
    const [a, b] = [new LeaseStore(proxied, clock, "api-a"), new LeaseStore(proxied, clock, "api-b")];
    const held = (await a.acquire("reconcile/pve1", 60_000))!;
    const write = (store: LeaseStore, lease: Lease) =>
      proxied.transaction(async (tx) => {
        await store.check(tx, lease);
        await tx.query("INSERT INTO fenced_writes VALUES (?)", [lease.owner]);
      });
    const killed = await cluster.killWriter();
    t.log(`killed the writer ${killed}`);
    t.is(await b.acquire("reconcile/pve1", 60_000), null, "still held on the new writer");
    await write(a, held);
    clock.advance(60_001);
    const taken = (await b.acquire("reconcile/pve1", 60_000))!;
    t.is(taken.token, held.token + 1);
    await t.throwsAsync(write(a, held), { instanceOf: LeaseLostError });
    await write(b, taken);
    const [rows] = await proxied.query<RowDataPacket[]>("SELECT by_owner FROM fenced_writes");
    t.deepEqual(
      rows.map((r) => r.by_owner),
      [held.owner, taken.owner],
    );
  },
);
