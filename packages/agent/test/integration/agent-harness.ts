import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { AgentClient, agentClientCredentials, logEntry, scratchDir, type TestScope } from "@lockstep/shared";
import { simPctBin } from "@lockstep/sim";
import { processDir, testPki } from "./test-pki.js";

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
  /** Split (`split: true`): the root executor the agent reaches over its socket; null in one process. */
  readonly executor: ExecutorUnderTest | null;
  /** Split: a new executor on the same socket, as systemd restarts one; `executor` is it from then on. */
  restartExecutor(): Promise<ExecutorUnderTest>;
  logs(): string;
  /** Kills the agent (SIGKILL) or stops it (SIGTERM) and waits for it to exit; split, the executor too. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Split: kills or stops the network process alone, as a crash or `systemctl restart lockstep-agent` would. */
  stopNetworkSide(signal?: NodeJS.Signals): Promise<void>;
  /** Starts a new agent on the same node, state and address, as systemd restarts one; split, the executor too if it is not running. */
  restart(): Promise<AgentUnderTest>;
  /**
   * Split: a new network side alone, on the same address and the same executor, running or not
   * (systemd restarts each unit on its own; the network side finds its executor once it is back).
   */
  restartNetworkSide(): Promise<AgentUnderTest>;
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
  options: AgentOptions = {},
): Promise<AgentUnderTest> {
  const agent = await startAgentOnSim(env, root ?? scratchDir(t, "agent-node"), options);
  t.teardown(async () => {
    await agent.stop();
    if (!t.passed) t.log(`the log of the agent on ${agent.root}:\n${agent.logs()}`);
  });
  return agent;
}

/**
 * The node's executor as every generation of its network side sees it: a restart of either
 * process replaces it here, so no generation starts a second executor for the same node.
 */
export interface ExecutorSlot {
  current: ExecutorUnderTest;
}

/** The root executor of a split agent: its own process, on the agent's simulated node. */
export interface ExecutorUnderTest {
  readonly socket: string;
  readonly process: ChildProcess;
  logs(): string;
  /** Kills (SIGKILL) or stops (SIGTERM) the executor and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** A new executor on the same socket and node, as systemd restarts one. */
  restart(): Promise<ExecutorUnderTest>;
}

export interface AgentOptions {
  /** Where the agent listens: 127.0.0.1:0 (any free port) for a new agent; a restart keeps its address. */
  readonly listen?: string;
  /** Prefixes the command (e.g. to run it in a network namespace); the process is still the agent. */
  readonly wrap?: (argv: readonly string[]) => string[];
  /**
   * The agent split in two, as the package runs it: a root executor (`lockstep-agent executor`)
   * and the network process calling it over a socket. LOCKSTEP_TEST_AGENT_SPLIT=1 makes it every
   * test's default, to run the whole suite against the split agent.
   */
  readonly split?: boolean | ExecutorUnderTest | ExecutorSlot;
  /**
   * Split only: the user the network process runs as, as the package's unit runs it (its own
   * copy of the TLS files and its own state directory, as systemd would give it).
   */
  readonly user?: TestUser;
}

/** A user of this machine the tests run a process as. */
export interface TestUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** `daemon` (uid 1), which every Debian has: the network process's user in tests that need one. */
export const DAEMON_USER: TestUser = { name: "daemon", uid: 1, gid: 1 };

const TEST_ENV = {
  LOCKSTEP_AGENT_LOCK_BACKOFF_MS: "100",
  LOCKSTEP_AGENT_LOCK_BACKOFF_MAX_MS: "200",
  LOCKSTEP_AGENT_LOCK_STALE_GRACE_MS: "1000",
  LOCKSTEP_AGENT_METRICS_LISTEN: "127.0.0.1:0",
  // Tests run as root, whom the executor always lets in; the user must exist all the same.
  LOCKSTEP_AGENT_EXECUTOR_USER: "root",
};

/** A process started with `argv`, its output collected, resolved once its log says `ready`. */
async function spawnLogged(
  argv: readonly string[],
  env: Record<string, string>,
  ready: string,
  user?: TestUser,
): Promise<{ child: ChildProcess; entry: Record<string, unknown>; output: () => string }> {
  const [command, ...args] = argv;
  const child = spawn(command!, args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
  });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const entry = await new Promise<Record<string, unknown>>((resolve, reject) => {
    // Generous: under the whole suite on two CPUs an agent can take a while to come up.
    const timer = setTimeout(() => reject(new Error(`${ready}: not logged in time:\n${output}`)), 60_000);
    child.stdout!.on("data", () => {
      const found = logEntry(output, ready);
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    child.on("exit", (code) => reject(new Error(`exited ${code} before '${ready}':\n${output}`)));
  });
  return { child, entry, output: () => output };
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function stopProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (hasExited(child)) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill(signal);
  await exited;
}

/** Beside the node, not in it (tests compare the node's files before and after), in a directory anyone may traverse. */
function socketPath(): string {
  const dir = processDir("executor");
  chmodSync(dir, 0o755);
  return path.join(dir, "executor.sock");
}

/**
 * What systemd gives the network process's user: a state directory of its own and the TLS
 * key as a credential only it reads (here: copies of the test PKI's files, owned by it).
 */
function ownFilesFor(
  user: TestUser,
  node: string,
  tls: { ca: string; cert: string; key: string },
): Record<string, string> {
  const own = (dir: string) => {
    chownSync(dir, user.uid, user.gid);
    return dir;
  };
  const state = own(processDir("agent-state"));
  const credentials = own(processDir("agent-tls"));
  const copy = (file: string, name: string) => {
    const to = path.join(credentials, name);
    copyFileSync(file, to);
    own(to);
    return to;
  };
  return {
    LOCKSTEP_AGENT_NODE: node,
    LOCKSTEP_AGENT_STATE_DIR: state,
    LOCKSTEP_AGENT_TLS_CA: copy(tls.ca, "ca.crt"),
    LOCKSTEP_AGENT_TLS_CERT: copy(tls.cert, "node.crt"),
    LOCKSTEP_AGENT_TLS_KEY: copy(tls.key, "node.key"),
  };
}

/** A root executor on the simulated node at `root`, listening on `socket` for `user` (and root). */
export async function startExecutorOnSim(
  env: Record<string, string>,
  root: string,
  socket: string,
  user?: TestUser,
): Promise<ExecutorUnderTest> {
  const { child, output } = await spawnLogged(
    [process.execPath, AGENT_BIN, "executor", "--simulate", root],
    {
      ...TEST_ENV,
      ...env,
      LOCKSTEP_AGENT_EXECUTOR_SOCKET: socket,
      ...(user ? { LOCKSTEP_AGENT_EXECUTOR_USER: user.name } : {}),
    },
    "executor ready",
  );
  return {
    socket,
    process: child,
    logs: output,
    stop: (signal = "SIGTERM") => stopProcess(child, signal),
    restart: () => startExecutorOnSim(env, root, socket, user),
  };
}

export async function startAgentOnSim(
  env: Record<string, string>,
  root: string,
  options: AgentOptions = {},
): Promise<AgentUnderTest> {
  const { listen = "127.0.0.1:0", wrap = (argv: readonly string[]): string[] => [...argv] } = options;
  const split = options.split ?? process.env.LOCKSTEP_TEST_AGENT_SPLIT === "1";
  const node = env.LOCKSTEP_AGENT_NODE ?? env.LOCKSTEP_SIM_NODE ?? "pve1";
  const pki = await testPki();
  const [server, operator] = await Promise.all([pki.node(node), pki.client("test-operator")]);
  const slot: ExecutorSlot | null =
    typeof split === "object"
      ? "current" in split
        ? split
        : { current: split }
      : split
        ? { current: await startExecutorOnSim(env, root, socketPath(), options.user) }
        : null;
  const executor = slot?.current ?? null;
  const user = executor ? options.user : undefined;
  const started = await spawnLogged(
    wrap([process.execPath, AGENT_BIN, "--simulate", root, "--listen", listen]),
    {
      ...TEST_ENV,
      LOCKSTEP_AGENT_TLS_CA: server.ca,
      LOCKSTEP_AGENT_TLS_CERT: server.cert,
      LOCKSTEP_AGENT_TLS_KEY: server.key,
      ...env,
      ...(executor ? { LOCKSTEP_AGENT_EXECUTOR_SOCKET: executor.socket } : {}),
      ...(user ? ownFilesFor(user, node, server) : {}),
    },
    "agent listening",
    user,
  ).catch(async (err: unknown) => {
    await executor?.stop("SIGKILL");
    throw err;
  });
  const child = started.child;
  const address = started.entry.address as string;
  const client = new AgentClient(address, { defaultTimeoutMs: 60_000, ...agentClientCredentials(operator, node) });
  return {
    root,
    node,
    client,
    get executor() {
      return slot?.current ?? null;
    },
    restartExecutor: async () => {
      if (!slot) throw new Error("the agent runs in one process: it has no executor to restart");
      slot.current = await slot.current.restart();
      return slot.current;
    },
    metricsUrl: ((metrics) => (typeof metrics === "string" ? `http://${metrics}/metrics` : null))(
      started.entry.metrics,
    ),
    cliEnv: {
      LOCKSTEP_NODE_TARGET: address,
      LOCKSTEP_NODE_CA: operator.ca,
      LOCKSTEP_NODE_CERT: operator.cert,
      LOCKSTEP_NODE_KEY: operator.key,
    },
    process: child,
    logs: () => (slot ? `${started.output()}\n--- the executor's log:\n${slot.current.logs()}` : started.output()),
    stop: async (signal = "SIGTERM") => {
      client.close();
      await stopProcess(child, signal);
      await slot?.current.stop(signal);
    },
    stopNetworkSide: async (signal = "SIGTERM") => {
      client.close();
      await stopProcess(child, signal);
    },
    restartNetworkSide: () => {
      if (!slot) throw new Error("the agent runs in one process: it has no network side of its own");
      return startAgentOnSim(env, root, { listen: address, wrap, split: slot, ...(user ? { user } : {}) });
    },
    restart: async () => {
      if (slot && hasExited(slot.current.process)) slot.current = await slot.current.restart();
      return startAgentOnSim(env, root, { listen: address, wrap, split: slot ?? false, ...(user ? { user } : {}) });
    },
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
