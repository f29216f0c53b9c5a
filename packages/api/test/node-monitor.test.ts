// The node monitor's hand in the job lifecycle: a node that answers again has its waiting jobs
// made due at once, rather than after their backoff.
import anyTest, { type TestFn } from "ava";
import type { RowDataPacket } from "mysql2/promise";
import { agentV1, createMemoryLogger, systemClock, type AgentClient } from "@lockstep/shared";
import { AlertBook } from "../src/alerts/alert-book.js";
import { logOnlyChannel } from "../src/alerts/alert-channel.js";
import { NodeMonitor } from "../src/alerts/node-monitor.js";
import { migrate } from "../src/db/migrate.js";
import { migrations } from "../src/db/migrations/index.js";
import { LeaseStore } from "../src/leases/lease-store.js";
import { createTestDatabase, type TestDatabase } from "./support/test-database.js";

const test = anyTest as TestFn<{ db: TestDatabase }>;

test.beforeEach(async (t) => {
  const db = await createTestDatabase();
  await migrate(db.pool, migrations, createMemoryLogger());
  t.context = { db };
});
test.afterEach.always(async (t) => t.context.db?.drop());

const healthy = {
  getHealth: async () =>
    agentV1.GetHealthResponse.fromPartial({ pctResponsive: true, clusterFsState: agentV1.ClusterFsState.OK }),
} as unknown as AgentClient;

/** Node pve1 in `state`, with one job queued behind a backoff a minute long. */
async function nodeWithWaitingJob(db: TestDatabase, state: string): Promise<Date> {
  const now = new Date(systemClock.now());
  const due = new Date(now.getTime() + 60_000);
  await db.pool.query(
    "INSERT INTO nodes (name, address, health_state, created_at, updated_at) VALUES ('pve1', '127.0.0.1:7000', ?, ?, ?)",
    [state, now, now],
  );
  await db.pool.query(
    "INSERT INTO operations (id, node, kind, status, attempts, max_attempts, next_attempt_at, input, steps, created_at, updated_at) VALUES ('job-1', 'pve1', 'apply', 'queued', 2, 5, ?, '{}', '[]', ?, ?)",
    [due, now, now],
  );
  return due;
}

/** Runs the monitor until its first check of pve1 recorded the node healthy. */
async function oneCheck(db: TestDatabase, onNodeBack: (node: string) => void): Promise<void> {
  const logger = createMemoryLogger();
  const agents = { forNode: async () => healthy, close: () => undefined };
  const monitor = new NodeMonitor({
    pool: db.pool,
    agents,
    alerts: new AlertBook(db.pool, logOnlyChannel(logger), systemClock, logger),
    clock: systemClock,
    logger,
    options: { intervalMs: 60_000, unreachableAlertMs: 60_000, probeTimeoutMs: 1_000, onNodeBack },
    leases: new LeaseStore(db.pool, systemClock, "test"),
  });
  monitor.start();
  try {
    for (let i = 0; i < 200; i++) {
      const [[node]] = await db.pool.query<RowDataPacket[]>("SELECT last_seen_at FROM nodes WHERE name = 'pve1'");
      if (node?.last_seen_at) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    // The wake follows the health record in the same check.
    await new Promise((resolve) => setTimeout(resolve, 200));
  } finally {
    monitor.stop();
  }
}

async function dueAt(db: TestDatabase): Promise<number> {
  const [[job]] = await db.pool.query<RowDataPacket[]>("SELECT next_attempt_at FROM operations WHERE id = 'job-1'");
  return (job!.next_attempt_at as Date).getTime();
}

test("a node that answers again after being unreachable has its waiting jobs made due at once, and the dispatcher woken", async (t) => {
  const backoff = await nodeWithWaitingJob(t.context.db, "unreachable");
  const woken: string[] = [];
  await oneCheck(t.context.db, (node) => woken.push(node));
  t.true((await dueAt(t.context.db)) < backoff.getTime() - 50_000, "due now, not in a minute");
  t.deepEqual(woken, ["pve1"]);
});

test("a node that was healthy already leaves its jobs' backoff alone", async (t) => {
  const backoff = await nodeWithWaitingJob(t.context.db, "healthy");
  const woken: string[] = [];
  await oneCheck(t.context.db, (node) => woken.push(node));
  t.is(await dueAt(t.context.db), backoff.getTime());
  t.deepEqual(woken, []);
});
