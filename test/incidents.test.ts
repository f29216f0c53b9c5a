import test from "ava";
import { agentV1 } from "@lockstep/shared";
import { writeFaults } from "@lockstep/sim";
import { post, startCluster, waitForOperation, type ApiUnderTest } from "./support/cluster.js";
import { TEMPLATE } from "./support/app-spec.js";

async function incidents(
  api: ApiUnderTest,
  query: string,
): Promise<{ kind: string; node: string; vmid: number; detail: string }[]> {
  return (
    (await (await api.fetch(`/v1/incidents?${query}`)).json()) as {
      incidents: { kind: string; node: string; vmid: number; detail: string }[];
    }
  ).incidents;
}

test("a lock event on a node reaches the incident log once, with its node and VMID", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  const agent = cluster.agents.get("pve1")!;
  await agent.pct(["create", "150", TEMPLATE, "--storage", "local-lvm"]);
  writeFaults(agent.root, [{ command: "snapshot", action: "crash", times: 1 }]);
  await agent.pct(["snapshot", "150", "half"]);
  // The lock is STALE once its grace period (1 s in the harness) has passed; the operator's clear then removes it.
  for (let i = 0; i < 60 && (await agent.client.inspectLock({ vmid: 150 })).verdict !== agentV1.LockVerdict.STALE; i++)
    await new Promise((r) => setTimeout(r, 100));
  await agent.client.clearLock({ requestId: "incident-clear-150", vmid: 150 });
  let found: Awaited<ReturnType<typeof incidents>> = [];
  for (let i = 0; i < 50 && found.length === 0; i++) {
    found = await incidents(cluster.api, "node=pve1&vmid=150&kind=lock-cleared");
    await new Promise((r) => setTimeout(r, 100));
  }
  t.is(found.length, 1);
  t.regex(found[0]!.detail, /cleared stale config lock 'snapshot'/);
});

test("a job that fails for good is marked failed with its reason and logged as an incident", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  const res = await post(
    cluster.api,
    "/v1/containers",
    { node: "pve1", spec: { hostname: "web-1", source: { template: "local:vztmpl/missing-template.tar.zst" } } },
    "missing-template",
  );
  const created = (await res.json()) as { id: string; operation_id: string };
  const op = (await waitForOperation(cluster.api, created.operation_id)) as {
    status: string;
    error: { code: string; message: string };
  };
  t.is(op.status, "failed");
  t.is(op.error.code, "COMMAND_FAILED");
  t.regex(op.error.message, /does not exist/);
  const record = (await (await cluster.api.fetch(`/v1/containers/${created.id}`)).json()) as { status: string };
  t.is(record.status, "failed");
  const logged = await incidents(cluster.api, "kind=job-failed");
  t.is(logged.length, 1);
});

test("incident filters are validated", async (t) => {
  const cluster = await startCluster(t, []);
  const res = await cluster.api.fetch(`/v1/incidents?vmid=5&since=yesterday`);
  t.is(res.status, 400);
  const pointers = ((await res.json()) as { errors: { pointer: string }[] }).errors.map((e) => e.pointer);
  t.deepEqual(pointers.sort(), ["/query/since", "/query/vmid"]);
});

test("an event from before the API listened to the node still reaches the incident log", async (t) => {
  const cluster = await startCluster(t, []);
  const { agentOnSim } = await import("../packages/agent/test/integration/agent-harness.js");
  const agent = await agentOnSim(t, { LOCKSTEP_AGENT_NODE: "pve7", LOCKSTEP_SIM_NODE: "pve7" });
  await agent.pct(["create", "160", TEMPLATE, "--storage", "local-lvm", "--tags", "lockstep-early"]);
  writeFaults(agent.root, [{ command: "snapshot", action: "crash", times: 1 }]);
  await agent.pct(["snapshot", "160", "half"]);
  // The container is the caller's own (it carries the tag), so its stale lock is cleared.
  await agent.client.startContainer({ requestId: "early-event-160", vmid: 160, ownershipTag: "lockstep-early" });
  await post(cluster.api, "/v1/nodes", { name: "pve7", address: agent.client.target }, "register-pve7");
  let found: Awaited<ReturnType<typeof incidents>> = [];
  for (let i = 0; i < 50 && found.length === 0; i++) {
    found = await incidents(cluster.api, "node=pve7&kind=lock-cleared");
    await new Promise((r) => setTimeout(r, 100));
  }
  t.is(found.length, 1);
});
