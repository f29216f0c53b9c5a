import anyTest, { type TestFn } from "ava";
import { agentV1, createMemoryLogger, ManualClock, type AgentClient, DEFAULT_POLICY } from "@lockstep/shared";
import type { RowDataPacket } from "mysql2/promise";
import { recordForeignVmids } from "../src/allocation/foreign-vmids.js";
import { allocateVmid, type VmidRange } from "../src/allocation/vmid-allocator.js";
import { migrate } from "../src/db/migrate.js";
import { migrations } from "../src/db/migrations/index.js";
import { LeaseStore } from "../src/leases/lease-store.js";
import { Reconciler } from "../src/reconcile/reconciler.js";
import { createTestDatabase, type TestDatabase } from "./support/test-database.js";

// QEMU VMs share the VMID space with containers: pve-cluster src/PVE/Cluster.pm
// check_vmid_unused refuses `pct create` on a VM's VMID (`VM <id> already exists on node`).
const test = anyTest as TestFn<{ db: TestDatabase }>;
const RANGE: VmidRange = { min: 100, max: 109 };
const NOW = new Date("2026-11-30T10:00:00Z");

test.beforeEach(async (t) => {
  const db = await createTestDatabase();
  await migrate(db.pool, migrations, createMemoryLogger());
  await db.pool.query(
    "INSERT INTO nodes (name, address, credentials_ref, created_at, updated_at) VALUES ('pve1', '127.0.0.1:7000', NULL, ?, ?)",
    [NOW, NOW],
  );
  t.context = { db };
});
test.afterEach.always(async (t) => t.context.db?.drop());

let containers = 0;
async function allocateMany(db: TestDatabase, n: number): Promise<number[]> {
  const vmids: number[] = [];
  for (let i = 0; i < n; i++) {
    vmids.push(await db.pool.transaction((tx) => allocateVmid(tx, RANGE, "pve1", `ct-vm-${++containers}`, NOW)));
  }
  return vmids;
}

/** An agent whose node has no containers and sees the cluster's VMs `vms`. */
function agentSeeing(vms: agentV1.VirtualMachine[]): AgentClient {
  const client = {
    listContainers: async () => ({
      containers: [],
      vms,
      clusterContainers: [],
      clusterName: "",
      clusterMembers: ["pve1"],
    }),
    inspectLock: async () => {
      throw new Error("no container to inspect");
    },
  };
  return client as unknown as AgentClient;
}

function reconcilerFor(db: TestDatabase, agent: AgentClient): Reconciler {
  const logger = createMemoryLogger();
  const clock = new ManualClock(NOW.getTime());
  const agents = { forNode: async () => agent, close: () => undefined };
  return new Reconciler({
    pool: db.pool,
    agents,
    clock,
    logger,
    maxAttempts: 3,
    ports: { min: 20000, max: 29999 },
    policy: { missing: "mark-failed", orphans: "report", orphanGraceMs: 0 },
    globalPolicy: DEFAULT_POLICY,
    leases: new LeaseStore(db.pool, clock, "test"),
  });
}

test("a VMID a VM holds is never allocated", async (t) => {
  await recordForeignVmids(
    t.context.db.pool,
    [
      { vmid: 100, node: "pve2" },
      { vmid: 102, node: "pve1" },
    ],
    NOW,
  );
  t.deepEqual(await allocateMany(t.context.db, 3), [101, 103, 104]);
});

test("the VMs a node's listing reports are recorded as foreign VMIDs with the node that holds them", async (t) => {
  await reconcilerFor(t.context.db, agentSeeing([{ vmid: 101, node: "pve2" }])).reconcileNode("pve1");
  const [rows] = await t.context.db.pool.query<RowDataPacket[]>(
    "SELECT vmid, node, owner, container_id FROM vmid_allocations",
  );
  t.deepEqual(
    rows.map((r) => ({ ...r })),
    [{ vmid: 101, node: "pve2", owner: "foreign", container_id: null }],
  );
});

test("after a node reported VMs inside the range, the allocator skips them", async (t) => {
  await reconcilerFor(
    t.context.db,
    agentSeeing([
      { vmid: 100, node: "pve1" },
      { vmid: 101, node: "pve2" },
    ]),
  ).reconcileNode("pve1");
  t.deepEqual(await allocateMany(t.context.db, 2), [102, 103]);
});

test("a VMID Lockstep already allocated keeps its owner when a VM turns up on it", async (t) => {
  const [vmid] = await allocateMany(t.context.db, 1);
  await recordForeignVmids(t.context.db.pool, [{ vmid: vmid!, node: "pve2" }], NOW);
  const [rows] = await t.context.db.pool.query<RowDataPacket[]>("SELECT owner FROM vmid_allocations WHERE vmid = ?", [
    vmid,
  ]);
  t.is(rows[0]?.owner, "lockstep");
});
