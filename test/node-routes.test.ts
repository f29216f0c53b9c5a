import test from "ava";
import { agentOnSim } from "../packages/agent/test/integration/agent-harness.js";
import { foreignPki } from "../packages/agent/test/integration/test-pki.js";
import { post, startCluster } from "./support/cluster.js";

test("a node's health comes from its agent through the API", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  const health = (await (await cluster.api.fetch(`/v1/nodes/pve1/health`)).json()) as {
    node: string;
    pctResponsive: boolean;
  };
  t.is(health.node, "pve1");
  t.true(health.pctResponsive);
});

test("the agent's lock report for a VMID is served by the API", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  await cluster.agents.get("pve1")!.pct(["create", "150", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"]);
  const report = (await (await cluster.api.fetch(`/v1/nodes/pve1/locks/150`)).json()) as {
    vmid: number;
    verdict: string;
  };
  t.deepEqual([report.vmid, report.verdict], [150, "LOCK_VERDICT_FREE"]);
  const bad = await cluster.api.fetch(`/v1/nodes/pve1/locks/99`);
  t.is(bad.status, 400);
});

test("an unreachable agent is a 503 problem, not a hang", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  await post(cluster.api, "/v1/nodes", { name: "pve2", address: "127.0.0.1:1" }, "register-dead-node");
  const res = await cluster.api.fetch(`/v1/nodes/pve2/health`);
  t.is(res.status, 503);
  t.is(res.headers.get("content-type"), "application/problem+json");
});

test("the API refuses an agent whose certificate is not the registered node's", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  // pve2 registered at pve1's address: the agent there proves it is pve1, not pve2.
  await post(
    cluster.api,
    "/v1/nodes",
    { name: "pve2", address: cluster.agents.get("pve1")!.client.target },
    "register-impostor",
  );
  const res = await cluster.api.fetch(`/v1/nodes/pve2/health`);
  t.is(res.status, 503);
  t.is(((await res.json()) as { code: string }).code, "UNAVAILABLE");
  t.is((await cluster.api.fetch(`/v1/nodes/pve1/health`)).status, 200);
});

test("the API refuses an agent whose certificate comes from another CA", async (t) => {
  const stranger = await (await foreignPki(t)).node("pve9");
  const agent = await agentOnSim(t, {
    LOCKSTEP_AGENT_NODE: "pve9",
    LOCKSTEP_SIM_NODE: "pve9",
    LOCKSTEP_AGENT_TLS_CERT: stranger.cert,
    LOCKSTEP_AGENT_TLS_KEY: stranger.key,
  });
  const cluster = await startCluster(t, ["pve1"]);
  t.teardown(async () => {
    await cluster.stop();
    await agent.stop();
  });
  await post(cluster.api, "/v1/nodes", { name: "pve9", address: agent.client.target }, "register-foreign");
  const res = await cluster.api.fetch(`/v1/nodes/pve9/health`);
  t.is(res.status, 503);
});
