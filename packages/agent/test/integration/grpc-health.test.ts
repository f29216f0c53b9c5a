// The standard gRPC health service (grpc.health.v1) of a real agent on a simulated node, over
// mutual TLS: SERVING while `pct` and /etc/pve answer, NOT_SERVING while either does not.
import { agentOnSim } from "./agent-harness.js";
import test from "ava";
import { status, type ServiceError } from "@grpc/grpc-js";
import {
  clearFaults,
  controlPmxcfs,
  createSimCluster,
  fuseSupport,
  writeFaults,
  type SimClusterNode,
} from "@lockstep/sim";
import { agentV1, scratchDir } from "@lockstep/shared";
import { check, FAST_HEALTH, healthClient, noClientCertificate, watch } from "./standard-grpc.js";

const NODE_AGENT = "lockstep.agent.v1.NodeAgent";
// Bound on waiting for a change: a probe every second, pct's bound 5 s, a busy machine.
const CHANGE_MS = 30_000;

test("the server and NodeAgent are SERVING while pct and /etc/pve answer, and List names both", async (t) => {
  const agent = await agentOnSim(t, FAST_HEALTH);
  const client = healthClient(agent);
  t.teardown(() => client.close());
  const watching = watch(client, "");
  await watching.next("SERVING", CHANGE_MS);
  watching.cancel();
  t.is(await check(client, ""), "SERVING");
  t.is(await check(client, NODE_AGENT), "SERVING");
  const listed = await new Promise<Record<string, { status: number }>>((resolve, reject) =>
    client.list({}, (err, res) => (err ? reject(err) : resolve(res!.statuses))),
  );
  t.deepEqual(Object.keys(listed).sort(), ["", NODE_AGENT]);
});

test("a service the agent does not serve is NOT_FOUND to Check", async (t) => {
  const agent = await agentOnSim(t);
  const client = healthClient(agent);
  t.teardown(() => client.close());
  const err = await t.throwsAsync<ServiceError>(check(client, "lockstep.agent.v1.Nothing"));
  t.is(err.code, status.NOT_FOUND);
});

test("while pct does not answer the node is NOT_SERVING, and SERVING again once it does; Watch streams each change", async (t) => {
  const agent = await agentOnSim(t, FAST_HEALTH);
  const client = healthClient(agent);
  t.teardown(() => client.close());
  const watching = watch(client, NODE_AGENT);
  await watching.next("SERVING", CHANGE_MS);
  // Every `pct list` hangs from now on, as on a node whose LXC tooling is stuck; for a minute
  // only, so that one still hanging when the agent stops at the end ends by itself.
  writeFaults(agent.root, [{ command: "list", action: "hang", ms: 60_000 }]);
  await watching.next("NOT_SERVING", CHANGE_MS);
  t.is(await check(client, NODE_AGENT), "NOT_SERVING");
  t.false((await agent.client.getHealth({})).pctResponsive, "Health tells the same from the same probe");
  clearFaults(agent.root);
  await watching.next("SERVING", CHANGE_MS);
  t.is(await check(client, ""), "SERVING");
  watching.cancel();
  t.deepEqual(
    watching.seen.slice(watching.seen.indexOf("SERVING")),
    ["SERVING", "NOT_SERVING", "SERVING"],
    "each change once, and nothing else",
  );
});

test("a health check without a client certificate is refused, and so is a Watch", async (t) => {
  const agent = await agentOnSim(t);
  const client = healthClient(agent, noClientCertificate(agent));
  t.teardown(() => client.close());
  const err = await t.throwsAsync<ServiceError>(check(client, ""));
  t.is(err.code, status.UNAVAILABLE);
  const watching = watch(client, "");
  await watching.ended;
  t.deepEqual(watching.seen, [], "no status reached the client");
});

test("a cluster client not among tlsAllowedClients is denied a health check", async (t) => {
  const agent = await agentOnSim(t, { LOCKSTEP_AGENT_TLS_ALLOWED_CLIENTS: "lockstep-api" });
  const client = healthClient(agent);
  t.teardown(() => client.close());
  const err = await t.throwsAsync<ServiceError>(check(client, ""));
  t.is(err.code, status.PERMISSION_DENIED);
});

test("when the agent stops, Watch hears NOT_SERVING and its stream ends", async (t) => {
  const agent = await agentOnSim(t);
  const client = healthClient(agent);
  t.teardown(() => client.close());
  const watching = watch(client, "");
  await watching.next("SERVING", CHANGE_MS);
  await Promise.all([agent.stop(), watching.ended]);
  t.is(watching.seen.at(-1), "NOT_SERVING");
});

const fuse = fuseSupport();
const withFuse = fuse.ok ? test.serial : test.serial.skip;
if (!fuse.ok) console.log(`the pmxcfs health test is skipped: ${fuse.reason}`);

withFuse("while pmxcfs hangs the node is NOT_SERVING, and SERVING again once it resumes", async (t) => {
  // Its directory's teardown comes first, so it runs last: after the unmount.
  const cluster = createSimCluster({ nodes: ["pve1"], base: scratchDir(t, "sim-cluster") });
  const [node] = cluster.nodes as [SimClusterNode];
  await controlPmxcfs("mount", node.env);
  // Resumed before anything else: a paused mount left behind hangs every `df` on the machine.
  t.teardown(async () => {
    await controlPmxcfs("resume", node.env).catch(() => undefined);
    await controlPmxcfs("unmount", node.env);
  });
  const agent = await agentOnSim(
    t,
    {
      ...FAST_HEALTH,
      LOCKSTEP_AGENT_NODE: "pve1",
      LOCKSTEP_SIM_NODE: "pve1",
      LOCKSTEP_SIM_CLUSTER: node.env.LOCKSTEP_SIM_CLUSTER!,
    },
    node.root,
  );
  const client = healthClient(agent);
  t.teardown(() => client.close());
  const watching = watch(client, NODE_AGENT);
  await watching.next("SERVING", CHANGE_MS);
  await controlPmxcfs("pause", node.env);
  await watching.next("NOT_SERVING", CHANGE_MS);
  t.is((await agent.client.getHealth({})).clusterFsState, agentV1.ClusterFsState.UNRESPONSIVE);
  await controlPmxcfs("resume", node.env);
  await watching.next("SERVING", CHANGE_MS);
  watching.cancel();
});
