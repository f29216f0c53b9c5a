// The agent on a node whose /etc/pve is the simulated pmxcfs, a real FUSE mount
// (packages/sim/pmxcfs), through its outages: audit D35-D37. pve-cluster src/PVE/Cluster.pm
// check_cfs_is_mounted and check_cfs_quorum judge `/etc/pve/local`; pmxcfs refuses every
// change without quorum (src/pmxcfs/dcdb.c dcdb_send_fuse_message) and a hung pmxcfs blocks
// every call on the mount.
import test from "ava";
import { spawn } from "node:child_process";
import { openSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { agentV1, scratchDir, type TestScope } from "@lockstep/shared";
import { controlPmxcfs, createSimCluster, fuseSupport, type SimClusterNode } from "@lockstep/sim";
import { OWNED, OWNER, startAgentOnSim, TEMPLATE, type AgentUnderTest } from "./agent-harness.js";

const fuse = fuseSupport();
const it = fuse.ok ? test.serial : test.serial.skip;
if (!fuse.ok) console.log(`pmxcfs outage tests skipped: ${fuse.reason}`);

const code = (err: unknown): string | undefined => (err as { code?: string }).code;

/** One node of a cluster of one whose /etc/pve pmxcfs serves, its agent, and CT 101 of Lockstep's. */
async function nodeWithPmxcfs(t: TestScope): Promise<{ node: SimClusterNode; agent: AgentUnderTest }> {
  // Its directory's teardown comes first, so it runs last: after the unmount.
  const [node] = createSimCluster({ nodes: ["pve1"], base: scratchDir(t, "sim-cluster") }).nodes as [SimClusterNode];
  await controlPmxcfs("mount", node.env);
  // Resumed before anything else: a paused mount left behind hangs every `df` on the machine.
  t.teardown(async () => {
    await controlPmxcfs("resume", node.env).catch(() => undefined);
    await controlPmxcfs("unmount", node.env);
  });
  const agent = await startAgentOnSim(
    {
      LOCKSTEP_AGENT_NODE: "pve1",
      LOCKSTEP_SIM_NODE: "pve1",
      LOCKSTEP_SIM_CLUSTER: node.env.LOCKSTEP_SIM_CLUSTER!,
      LOCKSTEP_AGENT_CLUSTER_FS_TIMEOUT_MS: "2000",
    },
    node.root,
  );
  t.teardown(() => agent.stop());
  const created = await agent.pct(["create", "101", TEMPLATE, ...OWNED], { ...node.env });
  if (created.code !== 0) throw new Error(`pct create: ${created.stderr}`);
  return { node, agent };
}

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await work;
  return { value, ms: Date.now() - started };
}

it("while pmxcfs is paused, Health answers within 1 s that the cluster filesystem is unresponsive", async (t) => {
  const { node, agent } = await nodeWithPmxcfs(t);
  await controlPmxcfs("pause", node.env);
  const health = await timed(agent.client.getHealth({}));
  t.log(`Health answered in ${health.ms} ms`);
  t.true(health.ms < 1_000, `Health took ${health.ms} ms`);
  t.is(health.value.clusterFsState, agentV1.ClusterFsState.UNRESPONSIVE);
  t.false(health.value.pctResponsive);
});

it("while pmxcfs is paused, a destroy is HYPERVISOR_UNRESPONSIVE and the container is untouched once it resumes", async (t) => {
  const { node, agent } = await nodeWithPmxcfs(t);
  await controlPmxcfs("pause", node.env);
  const err = await t.throwsAsync(
    agent.client.destroyContainer({ requestId: "destroy-while-paused", vmid: 101, ownershipTag: OWNER }),
  );
  t.is(code(err), "HYPERVISOR_UNRESPONSIVE");
  await controlPmxcfs("resume", node.env);
  t.is((await agent.client.getContainer({ vmid: 101 })).container?.vmid, 101);
});

it("once pmxcfs resumes, Health says the cluster filesystem is ok again", async (t) => {
  const { node, agent } = await nodeWithPmxcfs(t);
  await controlPmxcfs("pause", node.env);
  t.is((await agent.client.getHealth({})).clusterFsState, agentV1.ClusterFsState.UNRESPONSIVE);
  await controlPmxcfs("resume", node.env);
  let state = agentV1.ClusterFsState.UNRESPONSIVE;
  for (const end = Date.now() + 30_000; state !== agentV1.ClusterFsState.OK && Date.now() < end;)
    state = (await agent.client.getHealth({})).clusterFsState;
  t.is(state, agentV1.ClusterFsState.OK);
});

it("without quorum, a destroy is CLUSTER_NO_QUORUM, Health says no-quorum, and nothing is changed", async (t) => {
  const { node, agent } = await nodeWithPmxcfs(t);
  await controlPmxcfs("no-quorum", node.env);
  const err = await t.throwsAsync(
    agent.client.destroyContainer({ requestId: "destroy-without-quorum", vmid: 101, ownershipTag: OWNER }),
  );
  t.is(code(err), "CLUSTER_NO_QUORUM");
  t.is((await agent.client.getHealth({})).clusterFsState, agentV1.ClusterFsState.NO_QUORUM);
  await controlPmxcfs("quorum", node.env);
  t.is((await agent.client.getContainer({ vmid: 101 })).container?.vmid, 101);
});

it("with pmxcfs stopped (an empty /etc/pve), a destroy is HYPERVISOR_UNRESPONSIVE, never already gone, and the container is there once it starts", async (t) => {
  const { node, agent } = await nodeWithPmxcfs(t);
  await controlPmxcfs("stop", node.env);
  const err = await t.throwsAsync(
    agent.client.destroyContainer({ requestId: "destroy-while-stopped", vmid: 101, ownershipTag: OWNER }),
  );
  t.is(code(err), "HYPERVISOR_UNRESPONSIVE");
  t.is((await agent.client.getHealth({})).clusterFsState, agentV1.ClusterFsState.NOT_MOUNTED);
  await controlPmxcfs("start", node.env);
  t.is((await agent.client.getContainer({ vmid: 101 })).container?.vmid, 101);
});

it("a config replaced again and again while the agent reads it is never taken for a missing container (libfuse hide_node under pmxcfs's options)", async (t) => {
  const { node, agent } = await nodeWithPmxcfs(t);
  // Replaced as pve-common File.pm file_set_contents replaces it (a temporary file renamed over
  // it), through the mount, while a process has it open (as any reader may, the agent's own
  // included): libfuse renames the open file aside first, and for that moment the name is gone.
  const config = path.join(node.root, "etc/pve/lxc/101.conf");
  const holder = spawn("sleep", ["60"], { stdio: [openSync(config, "r"), "ignore", "ignore"] });
  t.teardown(() => void holder.kill("SIGKILL"));
  const text = await readFile(config, "utf8");
  let replacing = true;
  const replacer = (async () => {
    for (let i = 0; replacing; i++) {
      await writeFile(`${config}.tmp.${process.pid}`, text.replace(/^memory: .*$/m, `memory: ${512 + (i % 2) * 256}`));
      await rename(`${config}.tmp.${process.pid}`, config);
      // Fifty replacements a second: far more than any node sees, yet each swap's gap stays rare.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const misses: string[] = [];
  for (const end = Date.now() + 3_000; Date.now() < end;) {
    await agent.client
      .getContainer({ vmid: 101 })
      .catch((err: unknown) => misses.push(`${code(err)}: ${(err as Error).message}`));
  }
  replacing = false;
  await replacer;
  t.deepEqual(misses, []);
});
