import { execFile, spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { logEntry, type TestScope } from "@lockstep/shared";
import { checkResponse } from "../../packages/api/test/support/openapi-contract.js";
import { createTestDatabase, type TestDatabase } from "../../packages/api/test/support/test-database.js";
import { agentOnSim, policyEnv, type AgentUnderTest } from "../../packages/agent/test/integration/agent-harness.js";
import { testPki } from "../../packages/agent/test/integration/test-pki.js";
import { APP_NODE_POLICY, APP_POLICY_FILE } from "./app-spec.js";

const API_BIN = fileURLToPath(new URL("../../packages/api/bin/lockstep-api.js", import.meta.url));

/** A real API process on a fresh database. */
export interface ApiUnderTest {
  readonly url: string;
  /** An admin token, made with `lockstep-api token create`. */
  readonly token: string;
  readonly process: ChildProcess;
  /** `fetch` on the API with the admin token. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  logs(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Runs `lockstep-api token ...` on a database, as an operator would; returns stdout. */
export async function tokenCommand(databaseUrl: string, args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [API_BIN, "token", ...args], {
    env: { ...process.env, LOCKSTEP_DATABASE_URL: databaseUrl },
  });
  return stdout.trim();
}

const tokens = new Map<string, Promise<string>>();

/** One admin token per test database. */
function adminToken(databaseUrl: string): Promise<string> {
  if (!tokens.has(databaseUrl))
    tokens.set(databaseUrl, tokenCommand(databaseUrl, ["create", "--name", "test-admin", "--scope", "admin"]));
  return tokens.get(databaseUrl)!;
}

/** Where a process runs: a command prefix that puts it in a network namespace, and the address it listens on there. */
export interface Placement {
  readonly wrap: (argv: readonly string[]) => string[];
  readonly host: string;
}

const LOOPBACK: Placement = { wrap: (argv) => [...argv], host: "127.0.0.1" };

export async function startApi(
  databaseUrl: string,
  env: Record<string, string> = {},
  placement: Placement = LOOPBACK,
): Promise<ApiUnderTest> {
  const [token, tls] = await Promise.all([
    adminToken(databaseUrl),
    testPki().then((pki) => pki.client("lockstep-api")),
  ]);
  const [command, ...args] = placement.wrap([process.execPath, API_BIN, "--listen", `${placement.host}:0`]);
  const child = spawn(command!, args, {
    env: {
      ...process.env,
      LOCKSTEP_DATABASE_URL: databaseUrl,
      LOCKSTEP_API_DISPATCH_POLL_MS: "100",
      LOCKSTEP_API_JOB_BACKOFF_BASE_MS: "200",
      LOCKSTEP_API_JOB_BACKOFF_MAX_MS: "1000",
      // Tests fire hundreds of requests at once under one token; the limit has its own tests.
      LOCKSTEP_API_RATE_PER_SECOND: "5000",
      LOCKSTEP_API_RATE_BURST: "5000",
      LOCKSTEP_API_AGENT_TLS_CA: tls.ca,
      LOCKSTEP_API_AGENT_TLS_CERT: tls.cert,
      LOCKSTEP_API_AGENT_TLS_KEY: tls.key,
      // The tests' specs (appSpec) ask for what the default policy refuses.
      LOCKSTEP_API_POLICY_FILE: APP_POLICY_FILE,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  let address = "";
  // Up to 60 s: under the whole suite on two CPUs a process can take a while to come up.
  for (let i = 0; i < 1200 && !address; i++) {
    address = (logEntry(output, "api listening")?.address as string | undefined) ?? "";
    if (!address) await new Promise((r) => setTimeout(r, 50));
  }
  if (!address) throw new Error(`api did not start:\n${output}`);
  const url = `http://${address}`;
  return {
    url,
    token,
    process: child,
    fetch: async (path, init = {}) => {
      const res = await fetch(`${url}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string> | undefined) },
      });
      // Every answer of a real API process is checked against its OpenAPI document.
      await checkResponse(init.method ?? "GET", path, res);
      return res;
    },
    logs: () => output,
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill(signal);
      await exited;
    },
  };
}

/**
 * A database, agents on simulated nodes registered with a real API, for as long as the test
 * runs: its teardown stops them all and drops the database (an earlier `stop()` is the same one).
 */
export async function startCluster(
  t: TestScope,
  nodes: string[],
  apiEnv: Record<string, string> = {},
  agentEnv: Record<string, string> = {},
): Promise<{ db: TestDatabase; api: ApiUnderTest; agents: Map<string, AgentUnderTest>; stop(): Promise<void> }> {
  const db = await createTestDatabase();
  const agents = new Map<string, AgentUnderTest>();
  for (const node of nodes)
    agents.set(
      node,
      await agentOnSim(t, {
        LOCKSTEP_AGENT_NODE: node,
        LOCKSTEP_SIM_NODE: node,
        ...policyEnv(t, APP_NODE_POLICY),
        ...agentEnv,
      }),
    );
  const api = await startApi(db.url, apiEnv);
  let stopped: Promise<void> | null = null;
  const stop = () =>
    (stopped ??= (async () => {
      await api.stop();
      await Promise.all([...agents.values()].map((a) => a.stop()));
      await db.drop();
    })());
  t.teardown(stop);
  for (const [name, agent] of agents) {
    const res = await post(api, "/v1/nodes", { name, address: agent.client.target }, `register-${name}`);
    if (res.status !== 201) throw new Error(`registering ${name}: ${res.status} ${await res.text()}`);
  }
  return { db, api, agents, stop };
}

export function post(api: ApiUnderTest, path: string, body: unknown, key: string): Promise<Response> {
  return api.fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": key },
    body: JSON.stringify(body),
  });
}

/** Polls an operation until it has finished; returns it. */
export async function waitForOperation(
  api: ApiUnderTest,
  id: string,
  ms = 90_000,
): Promise<{ status: string; error: unknown; attempts: number }> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    const op = (await (await api.fetch(`/v1/operations/${id}`)).json()) as {
      status: string;
      error: unknown;
      attempts: number;
    };
    if (op.status === "succeeded" || op.status === "failed" || op.status === "cancelled") return op;
  }
  throw new Error(`operation ${id} did not finish within ${ms} ms`);
}
