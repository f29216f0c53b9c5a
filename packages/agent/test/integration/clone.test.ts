import type { TestScope } from "@lockstep/shared";
import test from "ava";
import { startedCalls, writeFaults } from "@lockstep/sim";
import { agentOnSim, configText, policyEnv, TEMPLATE } from "./agent-harness.js";

const clone = {
  vmid: 101,
  sourceVmid: 100,
  hostname: "web-2",
  ownershipTag: "lockstep-c1",
  description: "from the base",
};

/** An agent whose node policy names CT 100 as a clone source (the default names none). */
async function agentWithSource(t: TestScope) {
  const agent = await agentOnSim(t, policyEnv(t, { clone_sources: [100] }));
  await agent.pct(["create", "100", TEMPLATE, "--storage", "local-lvm", "--hostname", "base", "--tags", "golden"]);
  return agent;
}

test("a clone carries the ownership marker in its tags and its description", async (t) => {
  const agent = await agentWithSource(t);
  const result = await agent.client.cloneContainer({ ...clone, requestId: "clone-r1" });
  t.false(result.alreadyExisted);
  t.is(result.container?.name, "web-2");
  t.deepEqual(result.container?.tags, ["golden", "lockstep-c1"]);
  t.is(result.container?.description, "lockstep-owner=lockstep-c1\nfrom the base");
  t.is(result.container?.lock, "");
  t.notRegex(configText(agent, 100), /^lock:/m, "the source is unlocked again");
  const again = await agent.client.cloneContainer({ ...clone, requestId: "clone-r1" });
  t.true(again.replayed);
  t.is(startedCalls(agent.root, "clone").length, 1);
});

test("a clone killed mid-copy leaves the source's lock to its owner: the retry waits, then LOCK_HELD names it", async (t) => {
  const agent = await agentWithSource(t);
  writeFaults(agent.root, [{ command: "clone", action: "crash", times: 1 }]);
  const err = await t.throwsAsync(agent.client.cloneContainer({ ...clone, requestId: "clone-r2" }));
  t.is((err as { code?: string }).code, "HYPERVISOR_UNRESPONSIVE");
  t.regex(configText(agent, 101), /^lock: create$/m, "the killed clone left its config locked");
  // The source carries no marker of this request: its `lock: disk` is never unlocked by the agent.
  const retry = await t.throwsAsync(agent.client.cloneContainer({ ...clone, requestId: "clone-r2" }));
  t.is((retry as { code?: string }).code, "LOCK_HELD");
  t.regex(retry!.message, /config lock 'disk'/);
  t.regex(configText(agent, 100), /^lock: disk$/m, "the source's lock is left to its owner");
  t.is(startedCalls(agent.root, "destroy").length, 0, "nothing was destroyed");
});

test("a clone killed before its tag was set is redone on retry", async (t) => {
  const agent = await agentWithSource(t);
  writeFaults(agent.root, [{ command: "set", action: "crash", times: 1 }]);
  const err = await t.throwsAsync(agent.client.cloneContainer({ ...clone, requestId: "clone-r3" }));
  t.is((err as { code?: string }).code, "HYPERVISOR_UNRESPONSIVE");
  const result = await agent.client.cloneContainer({ ...clone, requestId: "clone-r3" });
  t.deepEqual(result.container?.tags, ["golden", "lockstep-c1"]);
  t.is(startedCalls(agent.root, "clone").length, 2);
});

test("a clone into a VMID held by a foreign container is ALREADY_EXISTS and touches nothing", async (t) => {
  const agent = await agentWithSource(t);
  await agent.pct(["create", "101", TEMPLATE, "--storage", "local-lvm", "--hostname", "someone-else"]);
  const before = configText(agent, 101);
  const err = await t.throwsAsync(agent.client.cloneContainer({ ...clone, requestId: "clone-r4" }));
  t.is((err as { code?: string }).code, "ALREADY_EXISTS");
  t.is(configText(agent, 101), before);
  t.is(startedCalls(agent.root, "clone").length, 0);
});

test("a clone of a snapshot takes the snapshot's state; a missing snapshot is NOT_FOUND", async (t) => {
  const agent = await agentWithSource(t);
  await agent.pct(["snapshot", "100", "small"]);
  await agent.pct(["set", "100", "--memory", "2048"]);
  const err = await t.throwsAsync(agent.client.cloneContainer({ ...clone, snapshot: "nope", requestId: "clone-r5" }));
  t.is((err as { code?: string }).code, "NOT_FOUND");
  const result = await agent.client.cloneContainer({ ...clone, snapshot: "small", requestId: "clone-r6" });
  t.is(result.container?.config.memory, "512");
});
