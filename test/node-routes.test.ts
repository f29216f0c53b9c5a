import test from "ava";
import { post, startCluster } from "./support/cluster.js";

test("a node's health comes from its agent through the API", async (t) => {
  const cluster = await startCluster(["pve1"]);
  t.teardown(() => cluster.stop());
  const health = (await (await cluster.api.fetch(`/v1/nodes/pve1/health`)).json()) as { node: string; pctResponsive: boolean };
  t.is(health.node, "pve1");
  t.true(health.pctResponsive);
});

test("the agent's lock report for a VMID is served by the API", async (t) => {
  const cluster = await startCluster(["pve1"]);
  t.teardown(() => cluster.stop());
  await cluster.agents.get("pve1")!.pct(["create", "150", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"]);
  const report = (await (await cluster.api.fetch(`/v1/nodes/pve1/locks/150`)).json()) as { vmid: number; verdict: string };
  t.deepEqual([report.vmid, report.verdict], [150, "LOCK_VERDICT_FREE"]);
  const bad = await cluster.api.fetch(`/v1/nodes/pve1/locks/99`);
  t.is(bad.status, 400);
});

test("an unreachable agent is a 503 problem, not a hang", async (t) => {
  const cluster = await startCluster(["pve1"]);
  t.teardown(() => cluster.stop());
  await post(cluster.api, "/v1/nodes", { name: "pve2", address: "127.0.0.1:1" }, "register-dead-node");
  const res = await cluster.api.fetch(`/v1/nodes/pve2/health`);
  t.is(res.status, 503);
  t.is(res.headers.get("content-type"), "application/problem+json");
});
