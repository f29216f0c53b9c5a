import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import anyTest, { type TestFn } from "ava";
import { SuiteScope, scratchDir } from "@lockstep/shared";
import { agentOnSim, policyEnv, type AgentUnderTest } from "../packages/agent/test/integration/agent-harness.js";
import { appSpec, APP_NODE_POLICY, APP_READS } from "./support/app-spec.js";
import { sideEffects } from "./support/side-effects.js";

const test = anyTest as TestFn<{ agent: AgentUnderTest; specFile: string; stateDir: string; expected: string[] }>;
const NODE_CLI = fileURLToPath(new URL("../packages/agent/bin/lockstep-node.js", import.meta.url));
const STEPS = [
  "create",
  "configure",
  "apparmor",
  "start",
  "feature:docker",
  "feature:motd",
  "file:/etc/app/app.conf",
  "service:app.service",
  "script",
  "health:app",
  "snapshot",
  "prune",
];

/**
 * Runs `lockstep-node apply`, a real process driving the real agent; with `killAfter`, it is
 * SIGKILLed as soon as it reports that step finished (the next step may have begun).
 */
function applyWithCli(
  ctx: { agent: AgentUnderTest; specFile: string; stateDir: string },
  vmid: number,
  requestId: string,
  killAfter?: string,
): Promise<{ code: number | null; output: string }> {
  const args = [
    "--target",
    ctx.agent.client.target,
    "--json",
    "apply",
    String(vmid),
    "--spec",
    ctx.specFile,
    "--owner",
    `lockstep-ct${vmid}`,
    "--request-id",
    requestId,
    "--state-dir",
    ctx.stateDir,
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [NODE_CLI, ...args], { env: { ...process.env, ...ctx.agent.cliEnv } });
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      output += d;
      const records = output
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { name: string; status: string });
      if (killAfter && records.some((s) => s.name === killAfter && s.status !== "running")) child.kill("SIGKILL");
    });
    child.stderr.on("data", (d: Buffer) => (output += d));
    child.on("close", (code) => resolve({ code, output }));
  });
}

const suite = new SuiteScope();

test.before(async (t) => {
  const agent = await agentOnSim(suite, policyEnv(suite, APP_NODE_POLICY));
  const stateDir = scratchDir(suite, "lockstep-kill");
  const specFile = path.join(stateDir, "spec.json");
  writeFileSync(specFile, JSON.stringify(appSpec()));
  const ctx = { agent, specFile, stateDir };
  const reference = await applyWithCli(ctx, 300, "kill-reference-300");
  if (reference.code !== 0) throw new Error(`the reference run failed:\n${reference.output}`);
  t.context = { ...ctx, expected: sideEffects(agent.root, 300, APP_READS) };
});

test.afterEach.always((t) => suite.noteResult(t));
test.after.always(() => suite.close());

test.serial("the uninterrupted reference run did real work", (t) => {
  t.true(t.context.expected.length > 10);
});

for (const [i, step] of STEPS.entries()) {
  test.serial(
    `a pipeline killed after its ${step} step completes on retry with every side effect exactly once`,
    async (t) => {
      const vmid = 400 + i;
      const requestId = `kill-after-${i}-${vmid}`;
      const killed = await applyWithCli(t.context, vmid, requestId, step);
      t.not(killed.code, 1, killed.output);
      const retried = await applyWithCli(t.context, vmid, requestId);
      t.is(retried.code, 0, retried.output);
      t.deepEqual(sideEffects(t.context.agent.root, vmid, APP_READS), t.context.expected);
    },
  );
}
