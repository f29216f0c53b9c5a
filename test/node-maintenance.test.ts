import { createServer } from "node:http";
import test from "ava";
import { startedCalls, writeFaults } from "@lockstep/sim";
import { post, startCluster, waitForOperation, type ApiUnderTest } from "./support/cluster.js";
import { TEMPLATE } from "./support/app-spec.js";

const SPEC = { hostname: "web-1", source: { template: TEMPLATE } };

interface Operation {
  id: string;
  status: string;
  attempts: number;
}

let keys = 0;
const key = (what: string): string => `${what}-${process.pid}-${keys++}`;

function maintenance(api: ApiUnderTest, method: "POST" | "DELETE", node = "pve1"): Promise<Response> {
  return api.fetch(`/v1/nodes/${node}/maintenance`, {
    method,
    headers: { "idempotency-key": key(`maintenance-${method}`), "content-type": "application/json" },
    ...(method === "POST" ? { body: JSON.stringify({ reason: "test" }) } : {}),
  });
}

async function operation(api: ApiUnderTest, id: string): Promise<Operation> {
  return (await (await api.fetch(`/v1/operations/${id}`)).json()) as Operation;
}

async function nodeMaintenance(api: ApiUnderTest): Promise<{ jobs_running: number; jobs_waiting: number } | null> {
  return (
    (await (await api.fetch("/v1/nodes/pve1")).json()) as {
      maintenance: { jobs_running: number; jobs_waiting: number } | null;
    }
  ).maintenance;
}

async function created(api: ApiUnderTest): Promise<{ id: string; vmid: number }> {
  const body = (await (await post(api, "/v1/containers", { node: "pve1", spec: SPEC }, key("create"))).json()) as {
    id: string;
    vmid: number;
    operation_id: string;
  };
  const op = await waitForOperation(api, body.operation_id);
  if (op.status !== "succeeded") throw new Error(`create: ${JSON.stringify(op)}`);
  return body;
}

async function until(condition: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100)))
    if (await condition()) return;
  throw new Error(`condition not met within ${ms} ms`);
}

async function reconcile(
  api: ApiUnderTest,
): Promise<{ node: string; maintenance: boolean; findings: number; repairs: { kind: string; action: string }[] }> {
  const res = await post(api, "/v1/reconcile", {}, key("reconcile"));
  if (res.status !== 200) throw new Error(`reconcile: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { nodes: never[] }).nodes[0]!;
}

test.serial("a job on a node in maintenance waits, queued, and runs once the node leaves maintenance", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  const { api } = cluster;
  const ct = await created(api);
  t.is((await maintenance(api, "POST")).status, 200);
  const applied = (await (await post(api, `/v1/containers/${ct.id}/apply`, {}, key("apply"))).json()) as {
    operation: Operation;
  };
  t.is(applied.operation.status, "queued");
  // Twenty dispatcher polls (LOCKSTEP_API_DISPATCH_POLL_MS=100 in tests): none claims it.
  await new Promise((r) => setTimeout(r, 2_000));
  t.like(await operation(api, applied.operation.id), { status: "queued", attempts: 0 });
  t.like(await nodeMaintenance(api), { jobs_running: 0, jobs_waiting: 1 });
  t.is((await maintenance(api, "DELETE")).status, 200);
  t.like(await waitForOperation(api, applied.operation.id), { status: "succeeded", attempts: 1 });
});

test.serial("a job running when its node enters maintenance finishes", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  const { api, agents } = cluster;
  const root = agents.get("pve1")!.root;
  writeFaults(root, [{ command: "create", action: "slow", ms: 3_000 }]);
  const body = (await (await post(api, "/v1/containers", { node: "pve1", spec: SPEC }, key("create"))).json()) as {
    operation_id: string;
  };
  await until(() => startedCalls(root, "create").length === 1);
  t.is((await maintenance(api, "POST")).status, 200);
  t.like(await nodeMaintenance(api), { jobs_running: 1, jobs_waiting: 0 });
  t.like(await waitForOperation(api, body.operation_id), { status: "succeeded", attempts: 1 });
  t.like(await nodeMaintenance(api), { jobs_running: 0, jobs_waiting: 0 });
});

test.serial(
  "the reconciler reports drift on a node in maintenance and repairs nothing there until it leaves",
  async (t) => {
    // Orphans are destroyed at once and missing records marked failed: both repairs are due at the first pass.
    const cluster = await startCluster(t, ["pve1"], { LOCKSTEP_API_RECONCILE_ORPHAN_GRACE_MS: "0" });
    const { api, agents } = cluster;
    const agent = agents.get("pve1")!;
    const ct = await created(api);
    t.is((await maintenance(api, "POST")).status, 200);
    await agent.pct(["destroy", String(ct.vmid), "--force", "1"]);
    await agent.pct([
      "create",
      "10500",
      TEMPLATE,
      "--storage",
      "local-lvm",
      "--tags",
      "lockstep;lockstep-5d0c5a6e-1111-4111-8111-111111111111",
    ]);
    const destroysBefore = startedCalls(agent.root, "destroy").length;

    const during = await reconcile(api);
    t.like(during, { maintenance: true, findings: 2, repairs: [] });
    const findings = ((await (await api.fetch("/v1/drift")).json()) as { findings: { kind: string; vmid: number }[] })
      .findings;
    t.deepEqual(findings.map((f) => [f.kind, f.vmid]).sort(), [
      ["missing", ct.vmid],
      ["orphan", 10500],
    ]);
    t.is(startedCalls(agent.root, "destroy").length, destroysBefore, "no orphan destroyed");
    t.like(await (await api.fetch(`/v1/containers/${ct.id}`)).json(), { status: "running", observed_state: "absent" });

    t.is((await maintenance(api, "DELETE")).status, 200);
    const after = await reconcile(api);
    t.like(after, { maintenance: false });
    t.deepEqual(after.repairs.map((r) => `${r.kind}: ${r.action}`).sort(), [
      "missing: record marked failed",
      "orphan: orphan destroyed",
    ]);
  },
);

test.serial(
  "a node in maintenance raises no alert from the API's monitor, and does once it leaves maintenance while still down",
  async (t) => {
    const bodies: Record<string, unknown>[] = [];
    const hook = createServer((req, res) => {
      let data = "";
      req.on("data", (d) => (data += d));
      req.on("end", () => {
        bodies.push(JSON.parse(data) as Record<string, unknown>);
        res.writeHead(202).end("{}");
      });
    });
    await new Promise<void>((r) => hook.listen(0, "127.0.0.1", r));
    t.teardown(() => hook.close());
    const url = `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`;
    const cluster = await startCluster(t, ["pve1"], {
      LOCKSTEP_API_HEALTH_INTERVAL_MS: "300",
      LOCKSTEP_API_UNREACHABLE_ALERT_MS: "0",
      LOCKSTEP_API_ALERT_CHANNEL: "webhook",
      LOCKSTEP_API_ALERT_WEBHOOK_URL: url,
    });
    t.teardown(() => cluster.stop());
    const { api } = cluster;
    await maintenance(api, "POST");
    await cluster.agents.get("pve1")!.stop();
    await until(
      async () =>
        ((await (await api.fetch("/v1/nodes/pve1")).json()) as { health_state: string }).health_state === "unreachable",
    );
    // Ten more health rounds.
    await new Promise((r) => setTimeout(r, 3_000));
    t.deepEqual(bodies, []);
    await maintenance(api, "DELETE");
    await until(() => bodies.length > 0);
    t.like(bodies[0], { event: "trigger", dedup_key: "lockstep/pve1/agent-unreachable" });
  },
);
