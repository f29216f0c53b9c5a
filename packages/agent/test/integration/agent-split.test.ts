// The agent split in two processes, as the package runs it (issue 19): the network side
// (gRPC, TLS, request records) reaches the node only through the root executor's socket.
import test from "ava";
import { LockstepError } from "@lockstep/shared";
import { startedCalls, writeFaults } from "@lockstep/sim";
import { agentOnSim, configText, DAEMON_USER, TEMPLATE, type AgentUnderTest } from "./agent-harness.js";
import { check, FAST_HEALTH, healthClient } from "./standard-grpc.js";

const create = (requestId: string) => ({
  requestId,
  vmid: 101,
  template: TEMPLATE,
  hostname: "web-1",
  unprivileged: true,
  ownershipTag: "lockstep-split",
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) if (await what()) return true;
  return what();
}

const healthOf = async (agent: AgentUnderTest) => {
  const client = healthClient(agent);
  try {
    return await check(client, "");
  } finally {
    client.close();
  }
};

test("a network side killed mid-create stops no pct: the create ends, and the retry after its restart gets that container", async (t) => {
  const first = await agentOnSim(t, {}, undefined, { split: true });
  writeFaults(first.root, [{ command: "create", action: "slow", ms: 3_000, times: 1 }]);
  const pending = first.client.createContainer(create("split-create-1")).catch(() => null);
  await sleep(1_000);
  await first.stopNetworkSide("SIGKILL");
  await pending;
  const second = await first.restart();
  t.teardown(() => second.stop());
  t.is(second.executor, first.executor, "the executor was not restarted");
  const result = await second.client.createContainer(create("split-create-1"));
  t.is(result.container?.vmid, 101);
  t.is(startedCalls(second.root, "create").length, 1, "pct create ran once, to its end");
  t.is(startedCalls(second.root, "destroy").length, 0, "nothing was undone");
  t.regex(configText(second, 101), /^tags: lockstep-split$/m);
});

test("an executor killed mid-create fails the call UNAVAILABLE, and the retry after its restart converges on one container", async (t) => {
  const agent = await agentOnSim(t, { LOCKSTEP_AGENT_LOCK_RETRIES: "20" }, undefined, { split: true });
  writeFaults(agent.root, [{ command: "create", action: "slow", ms: 3_000, times: 1 }]);
  const pending = agent.client.createContainer(create("split-create-2"));
  await sleep(1_000);
  await agent.executor!.stop("SIGKILL");
  const err = await t.throwsAsync(pending, { instanceOf: LockstepError });
  t.is(err?.code, "UNAVAILABLE");
  await agent.restartExecutor();
  t.true(await until(async () => (await healthOf(agent)) === "SERVING", 30_000), "the network side found it again");
  const result = await agent.client.createContainer(create("split-create-2"));
  t.is(result.container?.vmid, 101);
  const { containers } = await agent.client.listContainers({});
  t.deepEqual(
    containers.map((c) => c.vmid),
    [101],
  );
  t.regex(configText(agent, 101), /^tags: lockstep-split$/m);
});

test("while the executor is down the agent says NOT_SERVING and answers UNAVAILABLE, and serves again once it is back", async (t) => {
  const agent = await agentOnSim(t, FAST_HEALTH, undefined, { split: true });
  t.is(await healthOf(agent), "SERVING");
  await agent.executor!.stop();
  t.true(await until(async () => (await healthOf(agent)) === "NOT_SERVING", 30_000));
  const err = await t.throwsAsync(agent.client.listContainers({}), { instanceOf: LockstepError });
  t.is(err?.code, "UNAVAILABLE");
  await agent.restartExecutor();
  t.true(await until(async () => (await healthOf(agent)) === "SERVING", 30_000));
  t.deepEqual((await agent.client.listContainers({})).containers, []);
});

test("the network side runs as an unprivileged user and creates containers through the executor", async (t) => {
  const agent = await agentOnSim(t, {}, undefined, { split: true, user: DAEMON_USER });
  const result = await agent.client.createContainer(create("split-create-3"));
  t.is(result.container?.vmid, 101);
  const status = (await import("node:fs")).readFileSync(`/proc/${agent.process.pid}/status`, "utf8");
  t.regex(
    status,
    new RegExp(`^Uid:\\s+${DAEMON_USER.uid}\\s+${DAEMON_USER.uid}\\s`, "m"),
    "the network side is not root",
  );
  t.regex(status, /^CapEff:\s+0+$/m, "and has no capability");
  t.is(startedCalls(agent.root, "create").length, 1);
});

test("a restart of the network side keeps the request store exactly-once: a replay is answered from it, nothing runs again", async (t) => {
  const first = await agentOnSim(t, {}, undefined, { split: true });
  await first.client.createContainer(create("split-create-4"));
  await first.stopNetworkSide("SIGKILL");
  const second = await first.restart();
  t.teardown(() => second.stop());
  const again = await second.client.createContainer(create("split-create-4"));
  t.true(again.replayed);
  t.is(startedCalls(second.root, "create").length, 1);
});
