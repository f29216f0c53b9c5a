import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import test from "ava";
import { agentOnSim, OWNED, OWNER, TEMPLATE, type AgentUnderTest } from "../integration/agent-harness.js";

const CLI = fileURLToPath(new URL("../../bin/lockstep-node.js", import.meta.url));

function cli(agent: AgentUnderTest, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const target = agent.client.target;
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, "--target", target, ...args], { env: { ...process.env, ...agent.cliEnv } });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

test("the node CLI shows containers as a table and as JSON", async (t) => {
  const agent = await agentOnSim(t);
  await agent.pct(["create", "101", TEMPLATE, "--storage", "local-lvm", "--hostname", "web-1", "--tags", "lockstep"]);
  const table = await cli(agent, ["ct", "list"]);
  t.is(table.code, 0);
  t.regex(table.stdout, /^VMID\s+STATUS\s+LOCK\s+NAME\s+TAGS\n101\s+stopped\s+-\s+web-1\s+lockstep\n$/);
  const json = JSON.parse((await cli(agent, ["--json", "ct", "list"])).stdout) as { vmid: number; name: string }[];
  t.deepEqual(
    json.map((c) => [c.vmid, c.name]),
    [[101, "web-1"]],
  );
});

test("the node CLI runs a command in a container with its exit status", async (t) => {
  const agent = await agentOnSim(t);
  await agent.pct(["create", "101", TEMPLATE, ...OWNED, "--hostname", "web-1", "--start", "1"]);
  const ok = await cli(agent, ["exec", "101", "--owner", OWNER, "--", "cat", "/etc/hostname"]);
  t.is(ok.stdout, "web-1\n");
  t.is(ok.code, 0);
  t.is((await cli(agent, ["exec", "101", "--owner", OWNER, "--", "test", "-f", "/nope"])).code, 1);
});

test("the node CLI's mutating commands need --owner, and the agent refuses a container without that tag", async (t) => {
  const agent = await agentOnSim(t);
  await agent.pct(["create", "101", TEMPLATE, "--storage", "local-lvm", "--start", "1"]);
  const noOwner = await cli(agent, ["exec", "101", "--", "true"]);
  t.is(noOwner.code, 2);
  t.regex(noOwner.stderr, /^lockstep-node: exec needs --owner <tag>/);
  t.is((await cli(agent, ["snapshot", "prune", "101", "--keep-last", "1"])).code, 2);
  const foreign = await cli(agent, ["exec", "101", "--owner", OWNER, "--", "true"]);
  t.is(foreign.code, 1);
  t.regex(foreign.stderr, /^lockstep-node: FOREIGN_CONTAINER: CT 101 /);
});

test("the node CLI fails with one line and a non-zero status", async (t) => {
  const agent = await agentOnSim(t);
  const missing = await cli(agent, ["ct", "show", "555"]);
  t.is(missing.code, 1);
  t.is(missing.stderr, "lockstep-node: NOT_FOUND: CT 555 does not exist on this node\n");
  const usage = await cli(agent, ["lock", "inspect", "abc"]);
  t.is(usage.code, 2);
  t.regex(usage.stderr, /^lockstep-node: expected a VMID/);
});

test("lock inspect names the verdict", async (t) => {
  const agent = await agentOnSim(t);
  await agent.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  const out = await cli(agent, ["lock", "inspect", "101"]);
  t.regex(out.stdout, /^verdict\s+FREE$/m);
});
