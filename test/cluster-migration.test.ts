// Lockstep's containers on a simulated Proxmox cluster (one cluster filesystem shared by
// pve1 and pve2, packages/sim createSimCluster) when an admin moves them: pve-container
// src/PVE/API2/LXC.pm migrate_vm and src/PVE/LXC/Migrate.pm (the config renamed to the
// target node's directory under /etc/pve/nodes, `lock: migrate` meanwhile).
import { appendFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { scratchDir, type TestScope } from "@lockstep/shared";
import { startedCalls, createSimCluster, type SimCluster } from "@lockstep/sim";
import { startAgentOnSim, type AgentUnderTest } from "../packages/agent/test/integration/agent-harness.js";
import { createTestDatabase } from "../packages/api/test/support/test-database.js";
import { TEMPLATE } from "./support/app-spec.js";
import { post, startApi, waitForOperation, type ApiUnderTest } from "./support/cluster.js";

interface Lab {
  readonly sim: SimCluster;
  readonly api: ApiUnderTest;
  readonly agents: Map<string, AgentUnderTest>;
}

async function startLab(t: TestScope): Promise<Lab> {
  const sim = createSimCluster({ nodes: ["pve1", "pve2"], name: "lab", base: scratchDir(t, "sim-cluster") });
  // A ZFS install's `local-zfs` (pve-manager's installer): Migrate.pm phase1 moves a volume
  // with snapshots only from a zfspool, and every container Lockstep makes has its snapshot.
  appendFileSync(
    path.join(sim.dir, "storage.cfg"),
    "zfspool: local-zfs\n\tpool rpool/data\n\tsparse 1\n\tcontent images,rootdir\n\n",
  );
  const db = await createTestDatabase();
  const agents = new Map<string, AgentUnderTest>();
  for (const node of sim.nodes)
    agents.set(
      node.name,
      await startAgentOnSim(
        { LOCKSTEP_AGENT_NODE: node.name, LOCKSTEP_SIM_NODE: node.name, LOCKSTEP_SIM_CLUSTER: sim.dir },
        node.root,
      ),
    );
  const api = await startApi(db.url, { LOCKSTEP_API_RECONCILE_INTERVAL_MS: "3600000" });
  t.teardown(async () => {
    await api.stop();
    await Promise.all([...agents.values()].map((a) => a.stop()));
    await db.drop();
  });
  for (const [name, agent] of agents) {
    const res = await post(api, "/v1/nodes", { name, address: agent.client.target }, `register-${name}`);
    if (res.status !== 201) throw new Error(`registering ${name}: ${res.status} ${await res.text()}`);
  }
  return { sim, api, agents };
}

async function createOn(lab: Lab, node: string, key: string): Promise<{ id: string; vmid: number }> {
  const body = (await (
    await post(
      lab.api,
      "/v1/containers",
      { node, spec: { hostname: key, source: { template: TEMPLATE }, resources: { storage: "local-zfs" } } },
      key,
    )
  ).json()) as { id: string; vmid: number; operation_id: string };
  const op = await waitForOperation(lab.api, body.operation_id);
  if (op.status !== "succeeded") throw new Error(`create ${key}: ${JSON.stringify(op)}`);
  return body;
}

/** The admin's own `pct migrate` on the source node, as on a real cluster. */
async function migrate(lab: Lab, vmid: number, from: string, to: string): Promise<void> {
  const source = lab.sim.nodes.find((n) => n.name === from)!;
  const run = await lab.agents.get(from)!.pct(["migrate", String(vmid), to, "--restart"], { ...source.env });
  if (run.code !== 0) throw new Error(`pct migrate: ${run.code} ${run.stderr}`);
}

async function reconcile(api: ApiUnderTest): Promise<void> {
  const res = await api.fetch("/v1/reconcile", {
    method: "POST",
    headers: { "idempotency-key": `reconcile-${Date.now()}-${Math.random()}` },
  });
  if (res.status !== 200) throw new Error(`reconcile: ${res.status} ${await res.text()}`);
}

async function record(api: ApiUnderTest, id: string): Promise<{ node: string; status: string; vmid: number }> {
  return (await (await api.fetch(`/v1/containers/${id}`)).json()) as { node: string; status: string; vmid: number };
}

async function incidentKinds(api: ApiUnderTest, vmid: number): Promise<string[]> {
  const { incidents } = (await (await api.fetch(`/v1/incidents?vmid=${vmid}`)).json()) as {
    incidents: { kind: string }[];
  };
  return incidents.map((i) => i.kind);
}

/** Every pct call of the agents (no caller: Proxmox's own migration calls are not Lockstep's). */
function agentCalls(lab: Lab, command: string, vmid: number): number {
  return lab.sim.nodes.reduce(
    (n, node) => n + startedCalls(node.root, command).filter((c) => !c.caller && c.vmid === vmid).length,
    0,
  );
}

test.serial("the API learns each node's Proxmox cluster and members from its agent", async (t) => {
  const lab = await startLab(t);
  await reconcile(lab.api);
  const { nodes } = (await (await lab.api.fetch("/v1/nodes")).json()) as {
    nodes: { name: string; cluster: string; cluster_members: string[] }[];
  };
  t.deepEqual(
    nodes.map((n) => [n.name, n.cluster, n.cluster_members]),
    [
      ["pve1", "lab", ["pve1", "pve2"]],
      ["pve2", "lab", ["pve1", "pve2"]],
    ],
  );
});

test.serial(
  "a container an admin migrated is followed by its record: new node, a container-moved incident, nothing destroyed nor made again",
  async (t) => {
    const lab = await startLab(t);
    const ct = await createOn(lab, "pve1", "web-1");
    await migrate(lab, ct.vmid, "pve1", "pve2");
    await reconcile(lab.api);
    t.like(await record(lab.api, ct.id), { node: "pve2", status: "running", vmid: ct.vmid });
    const kinds = await incidentKinds(lab.api, ct.vmid);
    t.true(kinds.includes("container-moved"), kinds.join(", "));
    t.false(
      kinds.some((k) => k === "drift-orphan" || k === "drift-missing"),
      kinds.join(", "),
    );
    t.is(agentCalls(lab, "destroy", ct.vmid), 0);
    t.is(agentCalls(lab, "create", ct.vmid), 1);
  },
);

test.serial(
  "a delete sent while the record still names the old node finds the container on its new node and destroys it there",
  async (t) => {
    const lab = await startLab(t);
    const ct = await createOn(lab, "pve1", "web-2");
    await migrate(lab, ct.vmid, "pve1", "pve2");
    const res = await lab.api.fetch(`/v1/containers/${ct.id}`, {
      method: "DELETE",
      headers: { "idempotency-key": "delete-web-2" },
    });
    const op = await waitForOperation(lab.api, ((await res.json()) as { operation_id: string }).operation_id);
    t.is(op.status, "succeeded", JSON.stringify(op));
    t.like(await record(lab.api, ct.id), { node: "pve2", status: "deleted" });
    t.is(startedCalls(lab.sim.nodes[1]!.root, "destroy").filter((c) => !c.caller && c.vmid === ct.vmid).length, 1);
  },
);

test.serial(
  "a job whose container was migrated onto a node in maintenance follows it there and waits until the node leaves maintenance",
  async (t) => {
    const lab = await startLab(t);
    const ct = await createOn(lab, "pve1", "web-3");
    const maintenance = (method: string, key: string) =>
      lab.api.fetch("/v1/nodes/pve2/maintenance", { method, headers: { "idempotency-key": key } });
    t.is((await maintenance("POST", "pve2-in")).status, 200);
    await migrate(lab, ct.vmid, "pve1", "pve2");
    const res = await lab.api.fetch(`/v1/containers/${ct.id}`, {
      method: "DELETE",
      headers: { "idempotency-key": "delete-web-3" },
    });
    const opId = ((await res.json()) as { operation_id: string }).operation_id;
    for (let i = 0; i < 300 && (await record(lab.api, ct.id)).node !== "pve2"; i++)
      await new Promise((r) => setTimeout(r, 100));
    t.is((await record(lab.api, ct.id)).node, "pve2", "the record followed its container");
    // Twenty dispatcher polls: the job is held on pve2 (nothing was destroyed there).
    await new Promise((r) => setTimeout(r, 2_000));
    t.like((await (await lab.api.fetch(`/v1/operations/${opId}`)).json()) as object, {
      status: "queued",
      node: "pve2",
    });
    t.is(agentCalls(lab, "destroy", ct.vmid), 0);
    t.is((await maintenance("DELETE", "pve2-out")).status, 200);
    t.is((await waitForOperation(lab.api, opId)).status, "succeeded");
    t.is(startedCalls(lab.sim.nodes[1]!.root, "destroy").filter((c) => !c.caller && c.vmid === ct.vmid).length, 1);
  },
);
