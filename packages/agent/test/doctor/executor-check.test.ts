// The doctor's check of the agent split: the root executor answers on its socket, reachable by
// the agent's user alone, and the network side connected to it is unprivileged. Real processes:
// a split agent on a simulated node (integration/agent-harness.ts).
import { chmodSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { scratchDir } from "@lockstep/shared";
import { executorCheck } from "../../src/doctor/checks/executor-check.js";
import { agentOnSim, DAEMON_USER } from "../integration/agent-harness.js";
import { checkOn, simulatedNode } from "./doctor-harness.js";

test("the executor check passes one process on a simulated node, the development shape", async (t) => {
  const result = await checkOn(t, simulatedNode(t), executorCheck, { LOCKSTEP_AGENT_EXECUTOR_SOCKET: undefined });
  t.is(result.status, "pass");
  t.regex(result.seen, /^one process serves gRPC and runs the simulator's pct \(development\)/);
});

test("the executor check fails when nothing listens at executorSocket", async (t) => {
  const socket = path.join(scratchDir(t, "no-executor"), "executor.sock");
  const result = await checkOn(t, simulatedNode(t), executorCheck, { LOCKSTEP_AGENT_EXECUTOR_SOCKET: socket });
  t.is(result.status, "fail");
  t.is(result.seen, `nothing listens at ${socket}: is lockstep-agent-executor running?`);
});

test("the executor check passes a root executor whose connected network side runs as the agent's user without capabilities", async (t) => {
  const agent = await agentOnSim(t, {}, undefined, { split: true, user: DAEMON_USER });
  const result = await checkOn(t, agent.root, executorCheck, {
    LOCKSTEP_AGENT_EXECUTOR_SOCKET: agent.executor!.socket,
    LOCKSTEP_AGENT_EXECUTOR_USER: DAEMON_USER.name,
  });
  t.is(result.status, "pass");
  t.is(
    result.seen,
    `the executor (pid ${agent.executor!.process.pid}, root) answers at ${agent.executor!.socket}; the network side (pid ${agent.process.pid}) runs as daemon without capabilities`,
  );
});

test("the executor check warns when the network side connected to the executor is root", async (t) => {
  const agent = await agentOnSim(t, {}, undefined, { split: true });
  const result = await checkOn(t, agent.root, executorCheck, {
    LOCKSTEP_AGENT_EXECUTOR_SOCKET: agent.executor!.socket,
    LOCKSTEP_AGENT_EXECUTOR_USER: DAEMON_USER.name,
  });
  t.is(result.status, "warn");
  t.regex(
    result.seen,
    new RegExp(
      `a root process \\(pid ${agent.process.pid}\\) is connected to it: the network side should run as daemon`,
    ),
  );
});

test("the executor check fails a socket any user may connect to", async (t) => {
  const agent = await agentOnSim(t, {}, undefined, { split: true, user: DAEMON_USER });
  chmodSync(agent.executor!.socket, 0o666);
  const result = await checkOn(t, agent.root, executorCheck, {
    LOCKSTEP_AGENT_EXECUTOR_SOCKET: agent.executor!.socket,
    LOCKSTEP_AGENT_EXECUTOR_USER: DAEMON_USER.name,
  });
  t.is(result.status, "fail");
  t.is(result.seen, `${agent.executor!.socket} is mode 666: any user may call the executor`);
});
