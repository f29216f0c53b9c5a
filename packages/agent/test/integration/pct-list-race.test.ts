import test from "ava";
import { startedCalls, writeFaults } from "@lockstep/sim";
import { agentOnSim, TEMPLATE } from "./agent-harness.js";

const VANISHED = "Configuration file 'nodes/pve1/lxc/102.conf' does not exist";
// The health service probes `pct list` at start and then when no Health did for a while:
// counted from after the start, with its own probing put off past the test.
const HEALTH_QUIET = { LOCKSTEP_AGENT_HEALTH_INTERVAL_MS: "600000" };

test("a container destroyed under pct list is listed again, and the node's pct counts as answering", async (t) => {
  const agent = await agentOnSim(t, HEALTH_QUIET);
  await agent.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  const before = startedCalls(agent.root, "list").length;
  writeFaults(agent.root, [{ command: "list", action: "fail", times: 1, message: VANISHED }]);
  const health = await agent.client.getHealth({});
  t.true(health.pctResponsive);
  t.is(startedCalls(agent.root, "list").length - before, 2);
});

test("listing containers survives a container vanishing under pct list", async (t) => {
  const agent = await agentOnSim(t, HEALTH_QUIET);
  await agent.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  writeFaults(agent.root, [{ command: "list", action: "fail", times: 2, message: VANISHED }]);
  const listed = await agent.client.listContainers({});
  t.deepEqual(
    listed.containers.map((c) => c.vmid),
    [101],
  );
});

test("a pct list that keeps failing is reported, with pct's own words", async (t) => {
  const agent = await agentOnSim(t, HEALTH_QUIET);
  const before = startedCalls(agent.root, "list").length;
  writeFaults(agent.root, [
    { command: "list", action: "fail", message: "ipcc_send_rec[1] failed: Connection refused" },
  ]);
  const health = await agent.client.getHealth({});
  t.false(health.pctResponsive);
  t.regex(health.pctDetail, /ipcc_send_rec\[1\] failed/);
  t.is(startedCalls(agent.root, "list").length - before, 1);
});
