import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { agentV1, logEntry } from "@lockstep/shared";
import { agentOnSim, OWNED, OWNER, sleep, TEMPLATE } from "./agent-harness.js";

test("the watcher streams lock-detected for a lock taken by another process, without polling", async (t) => {
  const agent = await agentOnSim(t);
  await agent.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  const events: agentV1.Event[] = [];
  const abort = new AbortController();
  // since_ms: an event published before a slow stream is set up is still sent.
  const watching = agent.client.watchEvents({ vmids: [102], sinceMs: Date.now() }, (e) => events.push(e), abort.signal);
  // A lock file that did not exist before, taken by a process that is not the agent.
  const lockFile = path.join(agent.root, "run/lock/lxc/pve-config-102.lock");
  t.false(existsSync(lockFile));
  const holder = spawn("flock", [lockFile, "sleep", "30"], { detached: true, stdio: "ignore" });
  t.teardown(() => process.kill(-holder.pid!, "SIGKILL"));
  for (let i = 0; i < 300 && events.length === 0; i++) await sleep(50);
  abort.abort();
  await watching;
  t.is(events[0]?.kind, agentV1.EventKind.LOCK_DETECTED);
  t.is(events[0]?.vmid, 102);
  t.regex(events[0]?.detail ?? "", /HELD: held by pid/);
});

test("lock clear --remove-file removes a lock file nobody holds and refuses one that is held", async (t) => {
  const agent = await agentOnSim(t);
  await agent.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  await agent.pct(["start", "101"]);
  const lockFile = path.join(agent.root, "run/lock/lxc/pve-config-101.lock");
  const holder = spawn("flock", [lockFile, "sleep", "30"], { detached: true, stdio: "ignore" });
  for (let i = 0; i < 100 && !(await agent.client.inspectLock({ vmid: 101 })).kernelLocked; i++) await sleep(50);
  await t.throwsAsync(agent.client.clearLock({ requestId: "remove-held-file", vmid: 101, removeFile: true }), {
    message: /will not be cleared/,
  });
  t.true(existsSync(lockFile));
  process.kill(-holder.pid!, "SIGKILL");
  await new Promise((r) => holder.on("exit", r));
  const res = await agent.client.clearLock({ requestId: "remove-free-file", vmid: 101, removeFile: true });
  t.true(res.fileRemoved);
  t.false(existsSync(lockFile));
});

test("SIGTERM lets a running request finish before the agent exits", async (t) => {
  const agent = await agentOnSim(t);
  await agent.pct(["create", "101", TEMPLATE, ...OWNED]);
  const { startedCalls, writeFaults } = await import("@lockstep/sim");
  writeFaults(agent.root, [{ command: "start", action: "slow", ms: 1500 }]);
  const start = agent.client.startContainer({ requestId: "start-during-shutdown", vmid: 101, ownershipTag: OWNER });
  // SIGTERM once the start is running (its pct has begun), however long the load makes that take.
  for (let i = 0; i < 600 && startedCalls(agent.root, "start").length === 0; i++) await sleep(50);
  agent.process.kill("SIGTERM");
  const result = await start;
  t.true(result.changed);
  await new Promise((r) => (agent.process.exitCode !== null ? r(null) : agent.process.once("exit", r)));
  t.is(agent.process.exitCode, 0);
  t.like(logEntry(agent.logs(), "agent stopped"), { drained: true });
});
