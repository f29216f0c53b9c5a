// The checks of /etc/pve (pmxcfs mounted, FUSE, quorate) and of the node's name, each failed
// by the simulator; quorum and a hung pmxcfs need the simulated pmxcfs's FUSE mount.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import test, { type ExecutionContext } from "ava";
import { controlPmxcfs, createSimCluster, fuseSupport, type SimClusterNode } from "@lockstep/sim";
import { pveFuseCheck, pveMountedCheck, pveQuorumCheck } from "../../src/doctor/checks/cluster-fs-checks.js";
import { nodeNameCheck } from "../../src/doctor/checks/node-name-check.js";
import { checkOn, runDoctorBin, simulatedNode } from "./doctor-harness.js";

const fuse = fuseSupport();
const withFuse = fuse.ok ? test.serial : test.serial.skip;
if (!fuse.ok) console.log(`doctor's pmxcfs tests skipped: ${fuse.reason}`);

// One at a time: each test starts the simulator's tools, and two CPUs share them with the suite.
test.serial("the mount check fails when /etc/pve/local is not there (pmxcfs not mounted)", async (t) => {
  const root = simulatedNode(t);
  rmSync(path.join(root, "etc/pve/local"));
  const result = await checkOn(t, root, pveMountedCheck);
  t.is(result.status, "fail");
  t.regex(result.seen, /^pve configuration filesystem \(pmxcfs\) not mounted: lstat \S+\/etc\/pve\/local: ENOENT$/);
});

test.serial(
  "the FUSE check fails when the simulated pmxcfs says it serves /etc/pve but no FUSE mount is there",
  async (t) => {
    const root = simulatedNode(t);
    // What lockstep-sim-pmxcfs mount records (pmxcfs-state.ts), with the mount itself lost.
    mkdirSync(path.join(root, "var/lib/lockstep-sim"), { recursive: true });
    writeFileSync(
      path.join(root, "var/lib/lockstep-sim/pmxcfs.json"),
      JSON.stringify({ state: "mounted", quorate: true, pid: null }),
    );
    const result = await checkOn(t, root, pveFuseCheck);
    t.is(result.status, "fail");
    t.regex(result.seen, /^\S+\/etc\/pve is not a FUSE mount: it is on \S+ mounted at \//);
  },
);

test.serial("the node check fails when the agent's node name is not the one pmxcfs knows this node by", async (t) => {
  const result = await checkOn(t, simulatedNode(t, "pve1"), nodeNameCheck, { LOCKSTEP_AGENT_NODE: "pve2" });
  t.is(result.status, "fail");
  t.regex(
    result.seen,
    /^the agent is node 'pve2', but pmxcfs knows this node as 'pve1' \(\S+\/etc\/pve\/\.members\): set node in the agent's configuration$/,
  );
});

test.serial("the node check names the cluster and its members", async (t) => {
  const cluster = clusterOf(t, ["pve1", "pve2", "pve3"]);
  const node = cluster.nodes[1]!;
  const result = await checkOn(t, node.root, nodeNameCheck, { ...node.env, LOCKSTEP_AGENT_NODE: node.name });
  t.is(result.status, "pass");
  t.is(result.seen, "pve2, member of cluster 'lockstep-sim': pve1, pve2, pve3");
});

withFuse("the FUSE check passes when the simulated pmxcfs serves /etc/pve through FUSE", async (t) => {
  const node = await mountedNode(t);
  const result = await checkOn(t, node.root, pveFuseCheck, { ...node.env, LOCKSTEP_AGENT_NODE: node.name });
  t.is(result.status, "pass");
  t.regex(result.seen, /^fuse mount from /);
});

withFuse("the quorum check fails when the node has lost quorum", async (t) => {
  const node = await mountedNode(t);
  await controlPmxcfs("no-quorum", node.env);
  const result = await checkOn(t, node.root, pveQuorumCheck, { ...node.env, LOCKSTEP_AGENT_NODE: node.name });
  t.is(result.status, "fail");
  t.regex(result.seen, /^cluster not ready - no quorum\? \(\S+\/etc\/pve\/local is mode 555\)$/);
});

withFuse("the mount check fails within its bound while pmxcfs hangs", async (t) => {
  const node = await mountedNode(t);
  await controlPmxcfs("pause", node.env);
  const started = Date.now();
  const result = await checkOn(t, node.root, pveMountedCheck, { ...node.env, LOCKSTEP_AGENT_NODE: node.name });
  t.is(result.status, "fail");
  t.regex(result.seen, /^lstat of \S+\/etc\/pve\/local did not answer within 500 ms \(pmxcfs hung\?\)$/);
  // Generous for a loaded machine: what matters is that it ends, and says why.
  t.true(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
});

withFuse("the doctor ends with failures, never hangs, while pmxcfs hangs", async (t) => {
  t.timeout(240_000);
  const node = await mountedNode(t);
  await controlPmxcfs("pause", node.env);
  const started = Date.now();
  const run = await runDoctorBin(["--simulate", node.root, "--json", "--timeout", "2000"], {
    ...node.env,
    LOCKSTEP_AGENT_NODE: node.name,
    LOCKSTEP_AGENT_PCT_TERMINATE_GRACE_MS: "500",
  });
  const ms = Date.now() - started;
  t.log(`the doctor took ${ms} ms`);
  t.is(run.code, 1, run.stderr);
  const failed = run.report!.checks.filter((c) => c.status === "fail").map((c) => c.id);
  for (const id of ["pct", "pve-mounted", "pve-quorum", "node", "container-configs", "storages"])
    t.true(failed.includes(id), `${id} failed`);
  t.true(ms < 180_000);
});

/** A simulated cluster, removed after the test. */
function clusterOf(t: ExecutionContext, names: string[]): ReturnType<typeof createSimCluster> {
  const cluster = createSimCluster({ nodes: names });
  t.teardown(() => rmSync(path.dirname(cluster.dir), { recursive: true, force: true }));
  return cluster;
}

/** A cluster of one whose /etc/pve the simulated pmxcfs serves; resumed and unmounted after the test. */
async function mountedNode(t: ExecutionContext): Promise<SimClusterNode> {
  const node = clusterOf(t, ["pve1"]).nodes[0]!;
  await controlPmxcfs("mount", node.env);
  // Resumed first: a paused mount left behind hangs every `df` on the machine.
  t.teardown(async () => {
    await controlPmxcfs("resume", node.env).catch(() => undefined);
    await controlPmxcfs("unmount", node.env);
  });
  return node;
}
