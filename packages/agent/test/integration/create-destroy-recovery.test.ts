// Create and destroy after a crash, against the simulator: adopted only when provably
// complete, Lockstep's own leftovers removed with their unreferenced disks, anyone else's left.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import test, { type ExecutionContext } from "ava";
import { simVzdumpBin, startedCalls, writeFaults } from "@lockstep/sim";
import { OperationIntents } from "../../src/dedup/operation-intents.js";
import { agentOnSim, configText, TEMPLATE, type AgentUnderTest } from "./agent-harness.js";

const run = promisify(execFile);

const create = { vmid: 101, template: TEMPLATE, hostname: "web-1", unprivileged: true, ownershipTag: "lockstep-c1" };
/** The log of the one task of `type` on the node (`var/log/pve/tasks/<digit>/<UPID>`). */
function taskLogOf(root: string, type: string): string {
  const tasks = path.join(root, "var/log/pve/tasks");
  const logs = readdirSync(tasks, { recursive: true, encoding: "utf8" }).filter((f) => f.includes(`:${type}:`));
  if (logs.length !== 1) throw new Error(`expected one ${type} task log, found ${logs.length}`);
  return path.join(tasks, logs[0]!);
}

/** The config file's path, once the simulator has laid out its node (its first call does). */
async function confOf(agent: AgentUnderTest, vmid: number): Promise<string> {
  await agent.pct(["list"]);
  return path.join(agent.root, "etc/pve/lxc", `${vmid}.conf`);
}

/**
 * The agent said its intent of a create for `tag`, started `pct create` and died before pct
 * exited: pct (its own process group) lived on, its worker printed nothing more, so pct read
 * TASK OK from it and wrote it to the task log (pve-common src/PVE/RESTEnvironment.pm
 * fork_worker, tee_worker).
 */
async function createOutlivingAgent(t: ExecutionContext, agent: AgentUnderTest, tag: string): Promise<void> {
  await agent.stop("SIGKILL");
  const intents = await OperationIntents.open(path.join(agent.root, "var/lib/lockstep-agent/intents"));
  await intents.record({
    op: "create",
    vmid: 101,
    ownershipTag: tag,
    requestId: requestOf(tag),
    startedMs: Date.now(),
  });
  const description = ["--description", `lockstep-owner=${tag}`];
  const made = await agent.pct([
    "create",
    "101",
    TEMPLATE,
    "--storage",
    "local-lvm",
    "--hostname",
    "web-1",
    ...description,
  ]);
  t.is(made.code, 0);
}

/** The same create request, retried through an agent started again on the node. */
async function retryAfterRestart(t: ExecutionContext, agent: AgentUnderTest, tag: string) {
  const restarted = await agent.restart();
  t.teardown(() => restarted.stop());
  return restarted.client.createContainer({ ...create, ownershipTag: tag, requestId: requestOf(tag) });
}

const requestOf = (tag: string): string => tag.replace(/^lockstep-/, "create-");

test("a finished create carries the ownership marker in its description and the tag, which is set only after pct create", async (t) => {
  const agent = await agentOnSim(t);
  await agent.client.createContainer({ ...create, requestId: "create-c1", tags: ["web"] });
  const createArgv = startedCalls(agent.root, "create")[0]!.argv;
  t.false(
    createArgv.join(" ").includes("lockstep-c1;") ||
      createArgv[createArgv.indexOf("--tags") + 1]!.split(";").includes("lockstep-c1"),
    "pct create is not given the ownership tag",
  );
  t.deepEqual(
    startedCalls(agent.root, "set").map((c) => c.argv.slice(2)),
    [["--tags", "web;lockstep-c1"]],
  );
  t.regex(configText(agent, 101), /^#lockstep-owner=lockstep-c1$/m);
});

test("a create whose pct was killed leaves a placeholder that the agent's intent proves its own: the retry unlocks it, destroys it with its unreferenced disks and creates", async (t) => {
  const agent = await agentOnSim(t);
  writeFaults(agent.root, [{ command: "create", times: 1, action: "crash" }]);
  await t.throwsAsync(agent.client.createContainer({ ...create, requestId: "create-c2" }), {
    code: "HYPERVISOR_UNRESPONSIVE",
  });
  t.regex(configText(agent, 101), /^lock: create$/m);
  const made = await agent.client.createContainer({ ...create, requestId: "create-c2" });
  t.false(made.alreadyExisted);
  t.deepEqual(
    startedCalls(agent.root, "destroy").map((c) => c.argv),
    [["destroy", "101", "--destroy-unreferenced-disks", "1"]],
  );
  t.is(startedCalls(agent.root, "unlock").length >= 1, true);
  t.regex(configText(agent, 101), /^tags: lockstep-c1$/m);
});

// That the pre-flight lock gate leaves its `lock: create` in place too is agent-locks' part (lock verdicts).
test("a bare lock: create placeholder this agent did not make is ALREADY_EXISTS and never destroyed", async (t) => {
  const agent = await agentOnSim(t);
  const conf = await confOf(agent, 101);
  writeFileSync(conf, "lock: create\n");
  const err = await t.throwsAsync(agent.client.createContainer({ ...create, requestId: "create-c3" }));
  t.regex(err?.message ?? "", /ALREADY_EXISTS|placeholder/);
  t.true(existsSync(conf));
  t.is(startedCalls(agent.root, "destroy").length, 0);
});

test("a config with this request's marker but not its tag (a create that died after its safe config) is removed and made again", async (t) => {
  const agent = await agentOnSim(t);
  // pve-container src/PVE/API2/LXC.pm create_vm writes a complete, lock-free config with the
  // request's description before setup; a worker killed then leaves it, never tagged.
  await agent.pct([
    "create",
    "101",
    TEMPLATE,
    "--storage",
    "local-lvm",
    "--hostname",
    "web-1",
    "--description",
    "lockstep-owner=lockstep-c1",
  ]);
  const made = await agent.client.createContainer({ ...create, requestId: "create-c4" });
  t.false(made.alreadyExisted);
  t.is(startedCalls(agent.root, "destroy").length, 1);
  t.regex(configText(agent, 101), /^tags: lockstep-c1$/m);
});

test("a create that pct finished but whose tagging was killed is adopted by adding the tag, not made again", async (t) => {
  const agent = await agentOnSim(t);
  writeFaults(agent.root, [{ command: "set", times: 1, action: "crash" }]);
  await t.throwsAsync(agent.client.createContainer({ ...create, requestId: "create-c5" }), {
    code: "HYPERVISOR_UNRESPONSIVE",
  });
  t.notRegex(configText(agent, 101), /^tags: lockstep-c1$/m);
  const made = await agent.client.createContainer({ ...create, requestId: "create-c5" });
  t.true(made.alreadyExisted);
  t.is(startedCalls(agent.root, "create").length, 1);
  t.is(startedCalls(agent.root, "destroy").length, 0);
  t.regex(configText(agent, 101), /^tags: lockstep-c1$/m);
});

test("a create whose tagging keeps losing to a lock (a backup's) keeps its intent: the retry adds the tag, not a second create", async (t) => {
  const agent = await agentOnSim(t);
  // pve-container src/PVE/LXC/Config.pm check_lock: `pct set` refuses a CT a vzdump holds
  // (`CT is locked (backup)`); the agent's lock retries run out and the create answers LOCK_HELD.
  writeFaults(agent.root, [{ command: "set", action: "fail", message: "CT is locked (backup)", times: 4 }]);
  const err = await t.throwsAsync(agent.client.createContainer({ ...create, requestId: "create-c9" }));
  t.is((err as { code?: string }).code, "LOCK_HELD");
  const made = await agent.client.createContainer({ ...create, requestId: "create-c9" });
  t.true(made.alreadyExisted);
  t.is(startedCalls(agent.root, "create").length, 1);
  t.is(startedCalls(agent.root, "destroy").length, 0);
  t.regex(configText(agent, 101), /^tags: lockstep-c1$/m);
});

test("a create that pct finished after the agent died (its task ended TASK OK, the agent never learnt it) is adopted by adding the tag, not made again", async (t) => {
  const agent = await agentOnSim(t);
  await createOutlivingAgent(t, agent, "lockstep-c7");
  const made = await retryAfterRestart(t, agent, "lockstep-c7");
  t.true(made.alreadyExisted);
  t.is(startedCalls(agent.root, "create").length, 1);
  t.is(startedCalls(agent.root, "destroy").length, 0);
  t.regex(configText(agent, 101), /^tags: lockstep-c7$/m);
});

test("a finished create that a backup then left locked (its unlock failed) is adopted: the stale lock cleared and the tag added, not made again", async (t) => {
  const agent = await agentOnSim(t);
  await createOutlivingAgent(t, agent, "lockstep-c10");
  // A backup of the finished container whose own unlock then failed (a read-only /etc/pve):
  // pve-manager PVE/VZDump.pm exec_backup_task only warns, and `lock: backup` stays.
  await run(process.execPath, [simVzdumpBin, "101"], {
    env: { ...process.env, LOCKSTEP_SIM_ROOT: agent.root, LOCKSTEP_SIM_VZDUMP_MS: "100" },
  });
  const conf = await confOf(agent, 101);
  writeFileSync(conf, readFileSync(conf, "utf8").replace(/^(hostname: .*\n)/m, "$1lock: backup\n"));
  const made = await retryAfterRestart(t, agent, "lockstep-c10");
  t.true(made.alreadyExisted);
  t.is(startedCalls(agent.root, "create").length, 1);
  t.is(startedCalls(agent.root, "destroy").length, 0);
  t.is(startedCalls(agent.root, "unlock").length, 1, "the stale backup lock was cleared");
  t.regex(configText(agent, 101), /^tags: lockstep-c10$/m);
  t.notRegex(configText(agent, 101), /^lock:/m);
});

test("a create whose task ended in an error after the agent died is not adopted: what it left is removed and made again", async (t) => {
  const agent = await agentOnSim(t);
  await createOutlivingAgent(t, agent, "lockstep-c8");
  // The same config, but the task's log says it failed (a worker that died after its safe config).
  const log = taskLogOf(agent.root, "vzcreate");
  writeFileSync(
    log,
    readFileSync(log, "utf8").replace(/TASK OK\n$/, "\nTASK ERROR: unable to create CT 101 - received interrupt\n"),
  );
  const made = await retryAfterRestart(t, agent, "lockstep-c8");
  t.false(made.alreadyExisted);
  t.is(startedCalls(agent.root, "destroy").length, 1);
  t.regex(configText(agent, 101), /^tags: lockstep-c8$/m);
});

test("a destroy that died halfway (lock: destroyed alone) that this agent did not start is FAILED_PRECONDITION and left alone", async (t) => {
  const agent = await agentOnSim(t);
  const conf = await confOf(agent, 101);
  writeFileSync(conf, "lock: destroyed\n");
  const err = await t.throwsAsync(
    agent.client.destroyContainer({
      requestId: "destroy-d1",
      vmid: 101,
      force: false,
      purge: false,
      ownershipTag: "lockstep-c1",
    }),
  );
  t.regex(err?.message ?? "", /FAILED_PRECONDITION|died halfway/);
  t.is(readFileSync(conf, "utf8"), "lock: destroyed\n");
});

test("this agent's destroy that died halfway is finished by the retry, not answered alreadyGone while its config exists", async (t) => {
  const agent = await agentOnSim(t);
  await agent.client.createContainer({ ...create, requestId: "create-c6" });
  writeFaults(agent.root, [{ command: "destroy", times: 1, action: "crash" }]);
  await t.throwsAsync(
    agent.client.destroyContainer({
      requestId: "destroy-d2",
      vmid: 101,
      force: false,
      purge: false,
      ownershipTag: "lockstep-c1",
    }),
  );
  // What pve-container src/PVE/LXC.pm destroy_lxc_container leaves once the volumes are freed.
  writeFileSync(await confOf(agent, 101), "lock: destroyed\n");
  const res = await agent.client.destroyContainer({
    requestId: "destroy-d2",
    vmid: 101,
    force: false,
    purge: false,
    ownershipTag: "lockstep-c1",
  });
  t.false(res.alreadyGone);
  t.throws(() => configText(agent, 101));
});
