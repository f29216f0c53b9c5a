import { spawn } from "node:child_process";
import { appendFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { agentV1 } from "@lockstep/shared";
import { writeFaults } from "@lockstep/sim";
import { agentOnSim, agentWithHeldLock, configText, OWNED, OWNER, startAgentOnSim, TEMPLATE } from "./agent-harness.js";

test("a lock held by a live flock process is reported with its PID and never cleared", async (t) => {
  const { agent, holderPid } = await agentWithHeldLock(t, 101);
  const report = await agent.client.inspectLock({ vmid: 101 });
  t.is(report.verdict, agentV1.LockVerdict.HELD);
  t.true(report.kernelLocked);
  t.true(report.holders.some((h) => h.pid === holderPid && h.cmdline.startsWith("flock")));
  const err = await t.throwsAsync(
    agent.client.startContainer({ requestId: "start-while-held", vmid: 101, ownershipTag: OWNER }),
  );
  t.is((err as { code?: string }).code, "LOCK_HELD");
  t.regex(err!.message, new RegExp(`held by pid \\d+ \\(.*(flock|sleep)`));
  await t.throwsAsync(agent.client.clearLock({ requestId: "clear-while-held", vmid: 101 }), {
    message: /will not be cleared/,
  });
});

test("a lock whose recorded PID died but whose descriptor lives in a child is HELD by that child", async (t) => {
  const agent = await agentOnSim(t);
  await agent.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  const lockFile = path.join(agent.root, "run/lock/lxc/pve-config-101.lock");
  // The shell takes the lock on fd 9, backgrounds a sleep that inherits fd 9, and exits.
  const sh = spawn("sh", ["-c", 'exec 9>>"$1"; flock -w 20 9 || exit 3; sleep 30 & echo $!', "sh", lockFile], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  // The background sleep keeps stdout open, so the pid is read from the first line, not at EOF.
  const line = new Promise<string>((r) => sh.stdout.once("data", (d) => r(String(d).trim())));
  t.is(await new Promise((r) => sh.on("exit", r)), 0, "the shell got the lock");
  const childPid = Number(await line);
  t.teardown(() => process.kill(childPid, "SIGKILL"));
  const report = await agent.client.inspectLock({ vmid: 101 });
  t.is(report.verdict, agentV1.LockVerdict.HELD);
  t.false(report.recordedPidAlive);
  t.deepEqual(
    report.holders.map((h) => h.pid),
    [childPid],
  );
});

/** Inspects until the verdict is `want`, within a bound (the grace period is real time here). */
async function verdictBecomes(
  agent: Awaited<ReturnType<typeof startAgentOnSim>>,
  vmid: number,
  want: agentV1.LockVerdict,
): Promise<agentV1.LockReport> {
  for (let i = 0; ; i++) {
    const report = await agent.client.inspectLock({ vmid });
    if (report.verdict === want || i >= 60) return report;
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("a crashed operation's lock is within its grace period first, then STALE", async (t) => {
  const agent = await agentOnSim(t);
  await agent.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  writeFaults(agent.root, [{ command: "snapshot", action: "crash", times: 1 }]);
  await agent.pct(["snapshot", "101", "half"]);
  t.regex(configText(agent, 101), /^lock: snapshot$/m);
  t.like(await agent.client.inspectLock({ vmid: 101 }), {
    verdict: agentV1.LockVerdict.HELD,
    ownerKind: agentV1.LockOwnerKind.GRACE,
  });
  t.like(await verdictBecomes(agent, 101, agentV1.LockVerdict.STALE), {
    verdict: agentV1.LockVerdict.STALE,
    ownerKind: agentV1.LockOwnerKind.NONE,
  });
});

test("a stale lock on a container without the caller's marker is reported and never unlocked", async (t) => {
  const agent = await agentOnSim(t);
  await agent.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  writeFaults(agent.root, [{ command: "snapshot", action: "crash", times: 1 }]);
  await agent.pct(["snapshot", "101", "half"]);
  await verdictBecomes(agent, 101, agentV1.LockVerdict.STALE);
  const err = await t.throwsAsync(
    agent.client.startContainer({ requestId: "start-after-crash", vmid: 101, ownershipTag: OWNER }),
  );
  t.is((err as { code?: string }).code, "FOREIGN_CONTAINER");
  t.regex(configText(agent, 101), /^lock: snapshot$/m);
});

test("a stale lock on the caller's own container is cleared and the operation goes on", async (t) => {
  const agent = await agentOnSim(t);
  await agent.pct(["create", "101", TEMPLATE, ...OWNED]);
  writeFaults(agent.root, [{ command: "snapshot", action: "crash", times: 1 }]);
  await agent.pct(["snapshot", "101", "half"]);
  await verdictBecomes(agent, 101, agentV1.LockVerdict.STALE);
  const res = await agent.client.startContainer({ requestId: "start-own-stale", vmid: 101, ownershipTag: OWNER });
  t.true(res.changed);
  t.notRegex(configText(agent, 101), /^lock:/m);
  t.regex(agent.logs(), /"event":"lock-cleared".*cleared stale config lock 'snapshot'/);
});

test("the operator's lock clear removes a STALE lock through pct unlock and logs it", async (t) => {
  const agent = await agentOnSim(t);
  await agent.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  writeFaults(agent.root, [{ command: "snapshot", action: "crash", times: 1 }]);
  await agent.pct(["snapshot", "101", "half"]);
  await verdictBecomes(agent, 101, agentV1.LockVerdict.STALE);
  const res = await agent.client.clearLock({ requestId: "operator-clear", vmid: 101 });
  t.true(res.cleared);
  t.notRegex(configText(agent, 101), /^lock:/m);
  t.regex(agent.logs(), /"event":"lock-cleared".*cleared stale config lock 'snapshot'/);
});

test("an operator's pct mount lock is never STALE and never cleared by lock clear", async (t) => {
  const agent = await agentOnSim(t);
  await agent.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  // What pve-container CLI/pct.pm mount writes (set_lock($vmid, 'mounted')); this simulator has no `pct mount` yet.
  appendFileSync(path.join(agent.root, "etc/pve/lxc/101.conf"), "lock: mounted\n");
  t.regex(configText(agent, 101), /^lock: mounted$/m);
  t.like(await agent.client.inspectLock({ vmid: 101 }), {
    verdict: agentV1.LockVerdict.HELD,
    ownerKind: agentV1.LockOwnerKind.OPERATOR,
  });
  await t.throwsAsync(agent.client.clearLock({ requestId: "clear-mounted", vmid: 101 }), {
    message: /will not be cleared: config lock 'mounted' is an operator's/,
  });
});

test("retries stop at the bound and the failure names the holder", async (t) => {
  const { agent } = await agentWithHeldLock(t, 101, { LOCKSTEP_AGENT_LOCK_RETRIES: "2" });
  const err = await t.throwsAsync(
    agent.client.startContainer({ requestId: "bounded-retries", vmid: 101, ownershipTag: OWNER }),
  );
  t.regex(err!.message, /gave up after 3 checks/);
  t.regex(agent.logs(), /"event":"lock-blocked"/);
});

test("an unresponsive pct is reported as such and nothing is destroyed", async (t) => {
  const agent = await agentOnSim(t, {
    LOCKSTEP_AGENT_PCT_POWER_TIMEOUT_MS: "1500",
    LOCKSTEP_AGENT_PROBE_TIMEOUT_MS: "1000",
  });
  t.teardown(() => agent.stop());
  await agent.pct(["create", "101", TEMPLATE, ...OWNED]);
  writeFaults(agent.root, [
    { command: "start", action: "hang-before-lock" },
    { command: "list", action: "hang-before-lock" },
  ]);
  const err = await t.throwsAsync(
    agent.client.startContainer({ requestId: "start-hung", vmid: 101, ownershipTag: OWNER }),
  );
  t.is((err as { code?: string }).code, "HYPERVISOR_UNRESPONSIVE");
  const health = await agent.client.getHealth({});
  t.false(health.pctResponsive);
  writeFaults(agent.root, []);
  t.regex(configText(agent, 101), /^hostname: CT101$/m, "the container is still there");
  t.is((await agent.pct(["list"])).stdout.split("\n").filter(Boolean).length, 2);
});
