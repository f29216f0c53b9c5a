import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { AgentClient, agentClientCredentials, logEntry, scratchDir, type TestScope } from "@lockstep/shared";
import { simPctBin } from "@lockstep/sim";
import { testPki } from "./test-pki.js";

export const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";

/** The ownership tag the tests' own containers carry: every mutating RPC on them acts for it. */
export const OWNER = "lockstep-test";

/** `pct create` options of a container that is the tests' own (it carries OWNER). */
export const OWNED = ["--storage", "local-lvm", "--tags", OWNER] as const;

const AGENT_BIN = fileURLToPath(new URL("../../bin/lockstep-agent.js", import.meta.url));

/** A real agent process on a simulated node, reached over real gRPC on loopback. */
export interface AgentUnderTest {
  readonly root: string;
  /** The node name the agent's certificate is issued to. */
  readonly node: string;
  /** An mTLS client with the test operator's certificate, checking the node's certificate. */
  readonly client: AgentClient;
  /** What the node CLI needs in its environment to reach this agent. */
  readonly cliEnv: Record<string, string>;
  /** `http://host:port/metrics`, or null when metrics are off. */
  readonly metricsUrl: string | null;
  readonly process: ChildProcess;
  logs(): string;
  /** Kills the agent (SIGKILL) or stops it (SIGTERM) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts a new agent on the same node, state and address, as systemd restarts one. */
  restart(): Promise<AgentUnderTest>;
  /** Runs the simulator directly, as an operator would. */
  pct(args: string[], env?: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/**
 * A real agent on a simulated node for as long as the test runs: its teardown stops the agent,
 * and, if the test failed, prints the agent's log. The node is a fresh one, removed after a test
 * that passed and kept (and named) after one that failed, unless the caller owns `root`.
 */
export async function agentOnSim(
  t: TestScope,
  env: Record<string, string> = {},
  root?: string,
): Promise<AgentUnderTest> {
  const agent = await startAgentOnSim(env, root ?? scratchDir(t, "agent-node"));
  t.teardown(async () => {
    await agent.stop();
    if (!t.passed) t.log(`the log of the agent on ${agent.root}:\n${agent.logs()}`);
  });
  return agent;
}

/**
 * `listen` is 127.0.0.1:0 (any free port) for a new agent; a restart keeps the address it had.
 * `wrap` prefixes the command (e.g. to run it in a network namespace); the process is still the agent.
 */
export async function startAgentOnSim(
  env: Record<string, string>,
  root: string,
  listen = "127.0.0.1:0",
  wrap = (argv: readonly string[]): string[] => [...argv],
): Promise<AgentUnderTest> {
  const node = env.LOCKSTEP_AGENT_NODE ?? env.LOCKSTEP_SIM_NODE ?? "pve1";
  const pki = await testPki();
  const [server, operator] = await Promise.all([pki.node(node), pki.client("test-operator")]);
  const [command, ...args] = wrap([process.execPath, AGENT_BIN, "--simulate", root, "--listen", listen]);
  const child = spawn(command!, args, {
    env: {
      ...process.env,
      LOCKSTEP_AGENT_LOCK_BACKOFF_MS: "100",
      LOCKSTEP_AGENT_LOCK_BACKOFF_MAX_MS: "200",
      LOCKSTEP_AGENT_LOCK_STALE_GRACE_MS: "1000",
      LOCKSTEP_AGENT_TLS_CA: server.ca,
      LOCKSTEP_AGENT_TLS_CERT: server.cert,
      LOCKSTEP_AGENT_TLS_KEY: server.key,
      LOCKSTEP_AGENT_METRICS_LISTEN: "127.0.0.1:0",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const address = await new Promise<string>((resolve, reject) => {
    // Generous: under the whole suite on two CPUs an agent can take a while to come up.
    const timer = setTimeout(() => reject(new Error(`agent did not start:\n${output}`)), 60_000);
    child.stdout!.on("data", () => {
      const listening = logEntry(output, "agent listening");
      if (typeof listening?.address === "string") {
        clearTimeout(timer);
        resolve(listening.address);
      }
    });
    child.on("exit", (code) => reject(new Error(`agent exited ${code}:\n${output}`)));
  });
  const client = new AgentClient(address, { defaultTimeoutMs: 60_000, ...agentClientCredentials(operator, node) });
  return {
    root,
    node,
    client,
    metricsUrl: ((metrics) => (typeof metrics === "string" ? `http://${metrics}/metrics` : null))(
      logEntry(output, "agent listening")?.metrics,
    ),
    cliEnv: {
      LOCKSTEP_NODE_TARGET: address,
      LOCKSTEP_NODE_CA: operator.ca,
      LOCKSTEP_NODE_CERT: operator.cert,
      LOCKSTEP_NODE_KEY: operator.key,
    },
    process: child,
    logs: () => output,
    stop: async (signal = "SIGTERM") => {
      client.close();
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill(signal);
      await exited;
    },
    restart: () => startAgentOnSim(env, root, address, wrap),
    pct: (args, more = {}) =>
      new Promise((resolve) => {
        const p = spawn(process.execPath, [simPctBin, ...args], {
          env: { ...process.env, LOCKSTEP_SIM_ROOT: root, ...more },
        });
        let stdout = "";
        let stderr = "";
        p.stdout.on("data", (d) => (stdout += d));
        p.stderr.on("data", (d) => (stderr += d));
        p.stdin.end();
        p.on("close", (code) => resolve({ code, stdout, stderr }));
      }),
  };
}

/**
 * The environment that gives an agent `policy` as its policyFile (written into a scratch
 * directory of the test's): for tests whose agent must allow what the default policy refuses.
 */
export function policyEnv(t: TestScope, policy: Record<string, unknown>): Record<string, string> {
  const file = path.join(scratchDir(t, "agent-policy"), "policy.json");
  writeFileSync(file, JSON.stringify(policy));
  return { LOCKSTEP_AGENT_POLICY_FILE: file };
}

export function configText(agent: AgentUnderTest, vmid: number): string {
  return readFileSync(path.join(agent.root, "etc/pve/lxc", `${vmid}.conf`), "utf8");
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves once somebody holds a flock on `file` (checked with util-linux flock -n). */
export async function untilLocked(file: string, ms = 5000): Promise<void> {
  const { spawnSync } = await import("node:child_process");
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) {
    if (spawnSync("flock", ["-n", file, "true"]).status !== 0) return;
  }
  throw new Error(`${file} was never locked`);
}

/** An agent whose node has CT `vmid` (carrying OWNER), with util-linux flock holding its config lock until the test ends. */
export async function agentWithHeldLock(
  t: TestScope,
  vmid: number,
  env: Record<string, string> = {},
): Promise<{ agent: AgentUnderTest; holderPid: number }> {
  const { spawn } = await import("node:child_process");
  const agent = await agentOnSim(t, env);
  await agent.pct(["create", String(vmid), TEMPLATE, ...OWNED]);
  const lockFile = path.join(agent.root, "run/lock/lxc", `pve-config-${vmid}.lock`);
  const holder = spawn("flock", [lockFile, "sleep", "30"], { detached: true, stdio: "ignore" });
  t.teardown(() => process.kill(-holder.pid!, "SIGKILL"));
  await untilLocked(lockFile);
  return { agent, holderPid: holder.pid! };
}
