import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, renameSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { agentV1 } from "@lockstep/shared";
import { agentOnSim, OWNED, OWNER, TEMPLATE } from "./agent-harness.js";

// audit D35-D37. Until the simulator's FUSE pmxcfs is merged, a FIFO stands in for a hung
// pmxcfs: opening it for reading blocks in the kernel until a writer comes, as a read of a hung
// FUSE mount blocks until pmxcfs answers.

const code = (err: unknown): string | undefined => (err as { code?: string }).code;

/** The simulated `pct` processes of the node rooted at `root` that are alive now. */
function pctProcessesOf(root: string): number[] {
  const mark = `LOCKSTEP_SIM_ROOT=${root}\0`;
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return (readFileSync(`/proc/${pid}/environ`, "latin1") + "\0").includes(mark);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

async function within<T>(ms: number, probe: () => T | undefined): Promise<T | undefined> {
  for (const started = Date.now(); Date.now() - started < ms; await new Promise((r) => setTimeout(r, 50))) {
    const value = probe();
    if (value !== undefined) return value;
  }
  return undefined;
}

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await work;
  return { value, ms: Date.now() - started };
}

test("while reads of /etc/pve hang, Health and GetOperation answer before any hung read gives up, and InspectLock is HYPERVISOR_UNRESPONSIVE", async (t) => {
  // The hung reads give up only after 10 s: an answer before then did not wait behind them,
  // however slow the machine (a wall-clock bound of 1 s was a load test, not this one).
  const agent = await agentOnSim(t, {
    LOCKSTEP_AGENT_CLUSTER_FS_TIMEOUT_MS: "10000",
    LOCKSTEP_AGENT_PROBE_TIMEOUT_MS: "200",
    LOCKSTEP_AGENT_PCT_TERMINATE_GRACE_MS: "100",
  });
  execFileSync("mkfifo", [path.join(agent.root, "etc/pve/lxc/101.conf")]);
  let settled = 0;
  // More hung reads than libuv has threads: none may take the pool the rest of the agent needs.
  const inspections = Array.from({ length: 6 }, () =>
    agent.client
      .inspectLock({ vmid: 101 })
      .then(() => "answered", code)
      .finally(() => settled++),
  );
  const health = await timed(agent.client.getHealth({}));
  t.log(`Health answered in ${health.ms} ms`);
  t.is(settled, 0, `Health took ${health.ms} ms, after a hung read gave up`);
  const operation = await timed(agent.client.getOperation({ requestId: "never-sent" }).then(() => "answered", code));
  t.is(operation.value, "NOT_FOUND");
  t.is(settled, 0, `GetOperation took ${operation.ms} ms, after a hung read gave up`);
  t.deepEqual(await Promise.all(inspections), Array(6).fill("HYPERVISOR_UNRESPONSIVE"));
});

test("an agent that stops leaves no pct behind, even one hung on a read of /etc/pve", async (t) => {
  const agent = await agentOnSim(t, {
    LOCKSTEP_AGENT_PROBE_TIMEOUT_MS: "60000",
    LOCKSTEP_AGENT_HEALTH_INTERVAL_MS: "100",
    LOCKSTEP_AGENT_PCT_TERMINATE_GRACE_MS: "100",
  });
  execFileSync("mkfifo", [path.join(agent.root, "etc/pve/lxc/101.conf")]);
  void agent.client.getHealth({}).catch(() => undefined);
  const hung = await within(10_000, () => (pctProcessesOf(agent.root).length > 0 ? true : undefined));
  t.true(hung, "no pct call started to hang on the config");
  await agent.stop();
  // The unit's KillMode=process leaves pct to the agent: nothing else would ever stop it.
  const left = await within(5_000, () => (pctProcessesOf(agent.root).length === 0 ? true : undefined));
  t.true(left, `pct processes outlived the agent: ${pctProcessesOf(agent.root).join(", ")}`);
});

test("with pmxcfs stopped (an empty /etc/pve), a destroy is HYPERVISOR_UNRESPONSIVE, never already gone, and ListContainers and Health say so", async (t) => {
  const agent = await agentOnSim(t);
  t.is((await agent.pct(["create", "101", TEMPLATE, ...OWNED])).code, 0);
  renameSync(path.join(agent.root, "etc/pve"), path.join(agent.root, "etc/pve.stopped"));
  mkdirSync(path.join(agent.root, "etc/pve"));
  const err = await t.throwsAsync(
    agent.client.destroyContainer({ requestId: "destroy-while-stopped", vmid: 101, ownershipTag: OWNER }),
  );
  t.is(code(err), "HYPERVISOR_UNRESPONSIVE");
  t.regex(err!.message, /not mounted/);
  await t.throwsAsync(agent.client.listContainers({ includeConfig: false }), { message: /not-mounted/ });
  // Last: this simulator lays out a missing /etc/pve again at its next pct (a real pct does not).
  t.is((await agent.client.getHealth({})).clusterFsState, agentV1.ClusterFsState.NOT_MOUNTED);
});
