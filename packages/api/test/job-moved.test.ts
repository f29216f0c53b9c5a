// A job whose container an HA relocation moves while the job looks for it: Proxmox's `pct
// create` refuses a VMID that any node of the cluster holds (pve-container src/PVE/API2/LXC.pm
// create_vm: PVE::Cluster::check_vmid_unused, "CT <vmid> already exists on node '<node>'").
import anyTest, { type TestFn } from "ava";
import type { RowDataPacket } from "mysql2/promise";
import { agentV1, createMemoryLogger, LockstepError, systemClock, type AgentClient } from "@lockstep/shared";
import type { AgentDirectory } from "../src/agents/agent-directory.js";
import { migrate } from "../src/db/migrate.js";
import { migrations } from "../src/db/migrations/index.js";
import { requireSpec } from "../src/containers/container-schemas.js";
import { runJob } from "../src/dispatch/job-handlers.js";
import { JobStore } from "../src/dispatch/job-store.js";
import { insertPendingContainer, markRunning } from "../src/lifecycle/container-lifecycle.js";
import { enqueueOperation } from "../src/lifecycle/operation-lifecycle.js";
import { recordNodeCluster } from "../src/nodes/node-cluster.js";
import { ownershipTag } from "../src/reconcile/ownership-marker.js";
import { createTestDatabase, type TestDatabase } from "./support/test-database.js";

const test = anyTest as TestFn<{ db: TestDatabase }>;
const NOW = new Date();
const SPEC = requireSpec({
  hostname: "web-1",
  source: { template: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst" },
});
const VMID = 10006;
const RECORD = "4d1c5e0e-8f4f-4c57-9a55-0b6f1c3a9e21";

test.beforeEach(async (t) => {
  const db = await createTestDatabase();
  await migrate(db.pool, migrations, createMemoryLogger());
  await db.pool.transaction(async (tx) => {
    for (const node of ["pve1", "pve3"]) {
      await tx.query("INSERT INTO nodes (name, address, created_at, updated_at) VALUES (?, '127.0.0.1:7000', ?, ?)", [
        node,
        NOW,
        NOW,
      ]);
      await recordNodeCluster(tx, node, "lab", ["pve1", "pve3"], NOW);
    }
    await insertPendingContainer(tx, { id: RECORD, node: "pve1", vmid: VMID, hostname: "web-1", spec: SPEC }, NOW);
    await markRunning(tx, RECORD, NOW);
  });
  t.context = { db };
});
test.afterEach.always(async (t) => t.context.db?.drop());

/**
 * Agents of a cluster where CT 10006 is on pve1 when the job first looks, and on pve3 (HA moved
 * it) from then on; pve1's `pct create` is refused as Proxmox refuses it.
 */
function relocatedAgents(): AgentDirectory & { creates: string[] } {
  let looks = 0;
  const creates: string[] = [];
  const container = {
    vmid: VMID,
    tags: [ownershipTag(RECORD)],
    description: "",
    status: agentV1.ContainerStatus.RUNNING,
    lock: "",
  };
  const agent = (node: string) =>
    ({
      getContainer: async () => {
        looks += 1;
        const holder = looks === 1 ? "pve1" : "pve3";
        if (node !== holder) throw new LockstepError("NOT_FOUND", `CT ${VMID} does not exist on ${node}`);
        return { container, snapshots: [] };
      },
      createContainer: async () => {
        creates.push(node);
        throw new LockstepError("ALREADY_EXISTS", `CT ${VMID} already exists on node 'pve3'`);
      },
      getHealth: async () => ({ clusterName: "lab", clusterMembers: ["pve1", "pve3"] }),
    }) as unknown as AgentClient;
  return { forNode: async (node: string) => agent(node), close: () => undefined, creates };
}

/**
 * An agent of pve1 holding CT 10006 for the whole job, which HA shuts down for a relocation
 * after the pipeline's snapshots are pruned; the relocation's migration fails, and the CRM
 * starts it again on pve1 (pve-ha-manager Manager.pm next_state_migrate_relocate), so that the
 * ready step finds it stopped and the job, looking right after, finds it running where it was.
 */
function haBouncedAgents(): AgentDirectory & { starts: string[] } {
  const starts: string[] = [];
  let status = agentV1.ContainerStatus.RUNNING;
  let bounced = false;
  const container = () => ({ vmid: VMID, tags: [ownershipTag(RECORD)], description: "", status, lock: "", config: {} });
  const pve1 = {
    createContainer: async () => ({ alreadyExisted: true }),
    getContainer: async () => {
      const seen = container();
      // The CRM starts it again right after the ready step saw it stopped.
      if (bounced) status = agentV1.ContainerStatus.RUNNING;
      return { container: seen, snapshots: [{ name: "lockstep-op-apply" }] };
    },
    updateConfig: async () => ({ changedKeys: [], pendingKeys: [] }),
    startContainer: async (req: { requestId: string }) => {
      starts.push(req.requestId);
      status = agentV1.ContainerStatus.RUNNING;
      return { status, changed: false };
    },
    pruneSnapshots: async () => {
      status = agentV1.ContainerStatus.STOPPED;
      bounced = true;
      return { deleted: [], kept: [], failed: [] };
    },
    getHealth: async () => ({ clusterName: "lab", clusterMembers: ["pve1", "pve3"] }),
  } as unknown as AgentClient;
  const pve3 = {
    getContainer: async () => Promise.reject(new LockstepError("NOT_FOUND", `CT ${VMID} does not exist on pve3`)),
    getHealth: async () => ({ clusterName: "lab", clusterMembers: ["pve1", "pve3"] }),
  } as unknown as AgentClient;
  return { forNode: async (node: string) => (node === "pve1" ? pve1 : pve3), close: () => undefined, starts };
}

async function runApply(db: TestDatabase, agents: AgentDirectory): Promise<unknown> {
  await db.pool.transaction((tx) =>
    enqueueOperation(
      tx,
      { id: "op-apply", containerId: RECORD, node: "pve1", kind: "apply", spec: SPEC, maxAttempts: 5 },
      NOW,
    ),
  );
  const jobs = new JobStore(db.pool, systemClock, "test", 60_000);
  const [job] = await jobs.claim(1);
  return runJob(job!, {
    db: db.pool,
    agents,
    jobs,
    clock: systemClock,
    snapshotKeepLast: 3,
    ports: { min: 20000, max: 29999 },
  }).then(
    () => "succeeded",
    (err: unknown) => err,
  );
}

test("an apply whose container HA moved while it looked follows the record to the new node and is retried, not failed", async (t) => {
  const agents = relocatedAgents();
  const err = await runApply(t.context.db, agents);
  t.deepEqual(agents.creates, ["pve1"]);
  t.true(err instanceof LockstepError);
  t.is((err as LockstepError).code, "UNAVAILABLE", "a retryable failure, so the next attempt converges on pve3");
  t.regex((err as LockstepError).message, /it moved to pve3/);
  const [[record]] = await t.context.db.pool.query<RowDataPacket[]>("SELECT node FROM containers WHERE id = ?", [
    RECORD,
  ]);
  t.is(record?.node, "pve3");
});

test("an apply whose container is gone while another guest holds its VMID fails as it is, and the record keeps its VMID", async (t) => {
  const agents = relocatedAgents();
  const gone = {
    ...agents,
    forNode: async (node: string) =>
      ({
        ...(await agents.forNode(node)),
        getContainer: async () =>
          Promise.reject(new LockstepError("NOT_FOUND", `CT ${VMID} does not exist on ${node}`)),
      }) as unknown as AgentClient,
  };
  const err = await runApply(t.context.db, gone);
  t.is((err as LockstepError).code, "ALREADY_EXISTS");
  const [[record]] = await t.context.db.pool.query<RowDataPacket[]>("SELECT node, vmid FROM containers WHERE id = ?", [
    RECORD,
  ]);
  t.like(record, { node: "pve1", vmid: VMID });
});

test("an apply whose container HA stopped and started again where it was is retried, not failed", async (t) => {
  const agents = haBouncedAgents();
  const err = await runApply(t.context.db, agents);
  t.true(err instanceof LockstepError);
  t.is((err as LockstepError).code, "UNAVAILABLE", "a retryable failure: the next attempt finds it running and ready");
  t.regex((err as LockstepError).message, /not running at the end of the pipeline; CT 10006 is running again/);
  t.is(agents.starts.length, 1, "only the pipeline's own start: the CRM started it, not the job");
});
