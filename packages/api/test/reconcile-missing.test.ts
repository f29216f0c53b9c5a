import anyTest, { type TestFn } from "ava";
import {
  agentV1,
  createMemoryLogger,
  LockstepError,
  ManualClock,
  type AgentClient,
  DEFAULT_POLICY,
} from "@lockstep/shared";
import type { RowDataPacket } from "mysql2/promise";
import { requireSpec } from "../src/containers/container-schemas.js";
import { migrate } from "../src/db/migrate.js";
import { migrations } from "../src/db/migrations/index.js";
import { ownershipTag } from "../src/reconcile/ownership-marker.js";
import { LeaseStore } from "../src/leases/lease-store.js";
import { Reconciler } from "../src/reconcile/reconciler.js";
import { createTestDatabase, type TestDatabase } from "./support/test-database.js";

// A listing is one look: a container is absent from it for a moment while pmxcfs replaces its
// config (libfuse 2 renames an open file aside first, fuse.c hide_node; pmxcfs mounts without
// hard_remove, pve-cluster src/pmxcfs/pmxcfs.c). "Missing" is judged only on a second, direct look.
const test = anyTest as TestFn<{ db: TestDatabase }>;
const NOW = new Date("2026-11-30T10:00:00Z");
const RECORD = "0b7c2f52-3c4e-4d3b-9c59-1f1e0f0a0001";

test.beforeEach(async (t) => {
  const db = await createTestDatabase();
  await migrate(db.pool, migrations, createMemoryLogger());
  await db.pool.query(
    "INSERT INTO nodes (name, address, credentials_ref, created_at, updated_at) VALUES ('pve1', '127.0.0.1:7000', NULL, ?, ?)",
    [NOW, NOW],
  );
  await db.pool.query(
    "INSERT INTO containers (id, node, vmid, hostname, spec, desired_state, status, created_at, updated_at) VALUES (?, 'pve1', 101, 'web-1', ?, 'running', 'running', ?, ?)",
    [
      RECORD,
      JSON.stringify(
        requireSpec({
          hostname: "web-1",
          source: { template: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst" },
        }),
      ),
      NOW,
      NOW,
    ],
  );
  t.context = { db };
});
test.afterEach.always(async (t) => t.context.db?.drop());

/** A node whose listing shows no container, and whose direct look answers `getContainer`. */
function agentListingNothing(getContainer: () => Promise<unknown>): AgentClient {
  return {
    listContainers: async () => ({
      containers: [],
      vms: [],
      clusterContainers: [],
      clusterName: "",
      clusterMembers: ["pve1"],
    }),
    getContainer,
  } as unknown as AgentClient;
}

async function reconcile(db: TestDatabase, agent: AgentClient): Promise<{ status: string; findings: string[] }> {
  const logger = createMemoryLogger();
  const clock = new ManualClock(NOW.getTime());
  const reconciler = new Reconciler({
    pool: db.pool,
    agents: { forNode: async () => agent, close: () => undefined },
    clock,
    logger,
    maxAttempts: 3,
    ports: { min: 20000, max: 29999 },
    policy: { missing: "mark-failed", orphans: "report", orphanGraceMs: 0 },
    globalPolicy: DEFAULT_POLICY,
    leases: new LeaseStore(db.pool, clock, "test"),
  });
  await reconciler.reconcileNode("pve1");
  const [[record]] = await db.pool.query<RowDataPacket[]>("SELECT status FROM containers WHERE id = ?", [RECORD]);
  const [findings] = await db.pool.query<RowDataPacket[]>("SELECT kind FROM drift_findings");
  return { status: record!.status as string, findings: findings.map((f) => f.kind as string) };
}

const ours = {
  vmid: 101,
  name: "web-1",
  status: agentV1.ContainerStatus.RUNNING,
  tags: [ownershipTag(RECORD)],
  description: "",
};

test("a container its node's listing missed but finds when asked is not judged missing", async (t) => {
  t.deepEqual(
    await reconcile(
      t.context.db,
      agentListingNothing(async () => ({ container: ours })),
    ),
    { status: "running", findings: [] },
  );
});

test("a container its node says NOT_FOUND when asked is judged missing and its record marked failed", async (t) => {
  const notFound = async (): Promise<never> =>
    Promise.reject(new LockstepError("NOT_FOUND", "CT 101 does not exist on this node"));
  t.deepEqual(await reconcile(t.context.db, agentListingNothing(notFound)), {
    status: "failed",
    findings: ["missing"],
  });
});

test("a record whose VMID the node gives another's container when asked is judged missing", async (t) => {
  const another = { ...ours, tags: [], description: "" };
  t.deepEqual(
    await reconcile(
      t.context.db,
      agentListingNothing(async () => ({ container: another })),
    ),
    { status: "failed", findings: ["missing"] },
  );
});

test("a container the node cannot be asked about is not judged in this pass", async (t) => {
  const unreachable = async (): Promise<never> =>
    Promise.reject(new LockstepError("UNAVAILABLE", "connection refused"));
  t.deepEqual(await reconcile(t.context.db, agentListingNothing(unreachable)), { status: "running", findings: [] });
});
