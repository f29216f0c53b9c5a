import test from "ava";
import { startedCalls } from "@lockstep/sim";
import { agentOnSim, configText, TEMPLATE } from "./agent-harness.js";

const create = { vmid: 101, template: TEMPLATE, hostname: "web-1", unprivileged: true, ownershipTag: "lockstep-r1" };

test("50 concurrent duplicate creates with one request ID run pct create once", async (t) => {
  const agent = await agentOnSim(t);
  const results = await Promise.all(
    Array.from({ length: 50 }, () => agent.client.createContainer({ ...create, requestId: "create-r1" })),
  );
  t.is(startedCalls(agent.root, "create").length, 1);
  t.is(results.filter((r) => !r.replayed).length, 1);
  t.true(results.every((r) => r.container?.vmid === 101));
});

test("duplicates across an agent restart still run pct create once", async (t) => {
  const first = await agentOnSim(t);
  await Promise.all(
    Array.from({ length: 25 }, () => first.client.createContainer({ ...create, requestId: "create-r2" })),
  );
  await first.stop("SIGKILL");
  const second = await first.restart();
  t.teardown(() => second.stop());
  const again = await Promise.all(
    Array.from({ length: 25 }, () => second.client.createContainer({ ...create, requestId: "create-r2" })),
  );
  t.true(again.every((r) => r.replayed));
  t.is(startedCalls(second.root, "create").length, 1);
});

test("a create killed with the agent converges on retry without a second container", async (t) => {
  // The agent's pct children outlive it (KillMode=process): the retry waits for the lock.
  const first = await agentOnSim(t, { LOCKSTEP_AGENT_LOCK_RETRIES: "20" });
  const { writeFaults } = await import("@lockstep/sim");
  writeFaults(first.root, [{ command: "create", action: "slow", ms: 3000, times: 1 }]);
  const pending = first.client.createContainer({ ...create, requestId: "create-r3" }).catch(() => null);
  await new Promise((r) => setTimeout(r, 1000));
  await first.stop("SIGKILL");
  await pending;
  const second = await first.restart();
  t.teardown(() => second.stop());
  const result = await second.client.createContainer({ ...create, requestId: "create-r3" });
  t.is(result.container?.vmid, 101);
  const { containers } = await second.client.listContainers({});
  t.is(containers.length, 1);
  // Three faithful ends of the first create, by timing: its pct, writing to the dead agent,
  // dies of the broken pipe and TERMs its worker, which cleans up (pve-common
  // RESTEnvironment.pm tee_worker, kill_process_group), and one create replaces it; or the
  // worker finished and its task log ends TASK OK (pve-common UPID.pm read_status), and the
  // untagged container is adopted by adding the tag, with no second create and no destroy; or
  // it finished without that proof, and what it left is removed and redone. Either way one
  // tagged container is left.
  const creates = startedCalls(second.root, "create").length;
  const destroys = startedCalls(second.root, "destroy").length;
  t.true(
    (creates === 1 && destroys === 0) || (creates === 2 && destroys <= 1),
    `${creates} creates, ${destroys} destroys`,
  );
  t.regex(configText(second, 101), /^tags: lockstep-r1$/m);
});

test("the same request ID with different parameters is REQUEST_ID_REUSED", async (t) => {
  const agent = await agentOnSim(t);
  await agent.client.createContainer({ ...create, requestId: "create-r4" });
  const err = await t.throwsAsync(
    agent.client.createContainer({ ...create, hostname: "web-2", requestId: "create-r4" }),
  );
  t.is((err as { code?: string }).code, "REQUEST_ID_REUSED");
});

test("a create whose pct was killed midway is redone cleanly by a retry with its request ID", async (t) => {
  const agent = await agentOnSim(t);
  const { writeFaults } = await import("@lockstep/sim");
  writeFaults(agent.root, [{ command: "create", action: "crash", times: 1 }]);
  const err = await t.throwsAsync(agent.client.createContainer({ ...create, requestId: "create-r5" }));
  t.is((err as { code?: string }).code, "HYPERVISOR_UNRESPONSIVE");
  const result = await agent.client.createContainer({ ...create, requestId: "create-r5" });
  t.deepEqual(result.container?.tags, ["lockstep-r1"]);
  t.is(result.container?.lock, "");
  t.is(startedCalls(agent.root, "create").length, 2, "the killed create and the one that replaced it");
  t.is(startedCalls(agent.root, "destroy").length, 1, "the crashed placeholder was removed first");
});
