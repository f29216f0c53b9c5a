// The Lockstep demo: what goes wrong on Proxmox, and what Lockstep does about it, on
// simulated nodes that behave as real ones do (see packages/sim).
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  AgentClient,
  agentClientCredentials,
  agentV1,
  createMemoryLogger,
  LockstepError,
  type TlsFiles,
} from "@lockstep/shared";
import { createSimCluster, simPctBin, simQmBin, simVzdumpBin, startedCalls, writeFaults } from "@lockstep/sim";
import { openDatabase } from "../../packages/api/src/db/database.js";
import { migrate } from "../../packages/api/src/db/migrate.js";
import { migrations } from "../../packages/api/src/db/migrations/index.js";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const work = path.join(repo, ".local/demo");
const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";
// What the demo's API and agents allow: the default policy, plus keyctl for the example's Docker.
const POLICY_FILE = path.join(repo, "examples/docker-host.policy.json");
const agents: ChildProcess[] = [];
const pkiDir = path.join(work, "pki");
const tlsOf = (kind: "nodes" | "clients", name: string): TlsFiles => ({
  ca: path.join(pkiDir, "ca.crt"),
  cert: path.join(pkiDir, kind, `${name}.crt`),
  key: path.join(pkiDir, kind, `${name}.key`),
});

const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const step = (title: string): void => console.log(`\n${bold(`== ${title}`)}`);
const say = (line: string): void => console.log(`   ${line}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
// The ownership tag of the containers the demo makes through the agents directly: every change
// names it, and an agent changes only a container that carries it.
const OWNER = "lockstep-demo";

/** A simulated node's settings (its root, its name, the cluster it belongs to), for every tool run on it. */
const nodeEnv = (node: string): Record<string, string> => ({
  LOCKSTEP_SIM_ROOT: path.join(work, node),
  LOCKSTEP_SIM_NODE: node,
  LOCKSTEP_SIM_CLUSTER: path.join(work, "cluster"),
});

async function startAgent(node: string, port: number): Promise<AgentClient> {
  const root = path.join(work, node);
  const log = path.join(work, `${node}-agent.log`);
  const tls = tlsOf("nodes", node);
  const child = spawn(
    process.execPath,
    [
      path.join(repo, "packages/agent/bin/lockstep-agent.js"),
      "--simulate",
      root,
      "--listen",
      `127.0.0.1:${port}`,
      "--tls-ca",
      tls.ca,
      "--tls-cert",
      tls.cert,
      "--tls-key",
      tls.key,
    ],
    {
      env: {
        ...process.env,
        ...nodeEnv(node),
        LOCKSTEP_AGENT_LOCK_BACKOFF_MS: "500",
        LOCKSTEP_AGENT_LOCK_BACKOFF_MAX_MS: "1000",
        LOCKSTEP_AGENT_LOCK_STALE_GRACE_MS: "2000",
        LOCKSTEP_AGENT_LOCK_RETRIES: "10",
        LOCKSTEP_AGENT_METRICS_LISTEN: `127.0.0.1:${port + 1000}`,
        LOCKSTEP_AGENT_POLICY_FILE: POLICY_FILE,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  agents.push(child);
  let out = "";
  child.stdout!.on("data", (d) => {
    out += d;
    writeFileSync(log, out);
  });
  for (let i = 0; i < 100 && !out.includes("agent listening"); i++) await sleep(100);
  if (!out.includes("agent listening")) throw new Error(`agent for ${node} did not start; see ${log}`);
  say(`agent for ${node} listening on 127.0.0.1:${port}, mutual TLS (log: ${path.relative(repo, log)})`);
  return new AgentClient(`127.0.0.1:${port}`, {
    defaultTimeoutMs: 60_000,
    ...agentClientCredentials(tlsOf("clients", "demo-operator"), node),
  });
}

/** Runs the simulated node's pct directly, as an operator at its shell would. */
function pct(node: string, args: string[]): string {
  return spawnSyncText(process.execPath, [simPctBin, ...args], nodeEnv(node));
}

/**
 * pct without blocking the demo's event loop, for a call that takes seconds (a migration):
 * blocked that long, the demo would miss its HTTP connections' closing and reuse a dead one.
 */
function pctAsync(node: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [simPctBin, ...args], {
      env: { ...process.env, ...nodeEnv(node) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", () => resolve(out.trimEnd()));
  });
}

function spawnSyncText(cmd: string, args: string[], env: Record<string, string>): string {
  const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, encoding: "utf8" });
  return `${r.stdout}${r.stderr}`.trimEnd();
}

/** `lockstep-pki`: a CA for the demo cluster, a certificate per node, the API's and an operator's. */
function makeClusterPki(): void {
  const pki = (args: string[]): string =>
    spawnSyncText(
      process.execPath,
      [path.join(repo, "packages/shared/bin/lockstep-pki.js"), ...args, "--dir", pkiDir],
      {},
    );
  say(`cluster CA: ${path.relative(repo, pki(["init"]).split("\n")[0]!)}`);
  for (const node of ["pve1", "pve2"]) pki(["node", node, "--san", "IP:127.0.0.1"]);
  for (const client of ["lockstep-api", "demo-operator"]) pki(["client", client]);
  say(`certificates for nodes pve1, pve2 and clients lockstep-api, demo-operator in ${path.relative(repo, pkiDir)}`);
}

/** `lockstep-api token create`: the token is printed once; the database keeps only its hash. */
/**
 * `lockstep-api token create`, run without blocking the event loop: a blocked loop misses the
 * API closing an idle keep-alive connection, and the next fetch then fails on that socket.
 */
async function createToken(databaseUrl: string, name: string, scope: string): Promise<string> {
  const args = [
    path.join(repo, "packages/api/bin/lockstep-api.js"),
    "token",
    "create",
    "--name",
    name,
    "--scope",
    scope,
  ];
  const { stdout } = await promisify(execFile)(process.execPath, args, {
    env: { ...process.env, LOCKSTEP_DATABASE_URL: databaseUrl },
    encoding: "utf8",
  }).catch((err: { stderr?: string }) => {
    throw new Error(`token create failed: ${err.stderr ?? String(err)}`);
  });
  return stdout.trim();
}

interface DemoApi {
  readonly url: string;
  readonly child: ChildProcess;
  readonly token: string;
}

async function startApi(databaseUrl: string, port: number): Promise<DemoApi> {
  const log = path.join(work, "api.log");
  const token = await createToken(databaseUrl, "demo-panel", "admin");
  say(`an admin API token made with \`lockstep-api token create\`: ${token.slice(0, 17)}… (shown once, stored hashed)`);
  const tls = tlsOf("clients", "lockstep-api");
  const child = spawn(
    process.execPath,
    [path.join(repo, "packages/api/bin/lockstep-api.js"), "--listen", `127.0.0.1:${port}`],
    {
      env: {
        ...process.env,
        LOCKSTEP_DATABASE_URL: databaseUrl,
        LOCKSTEP_API_DISPATCH_POLL_MS: "200",
        LOCKSTEP_API_AGENT_TLS_CA: tls.ca,
        LOCKSTEP_API_AGENT_TLS_CERT: tls.cert,
        LOCKSTEP_API_AGENT_TLS_KEY: tls.key,
        LOCKSTEP_API_POLICY_FILE: POLICY_FILE,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  agents.push(child);
  let out = "";
  child.stdout!.on("data", (d) => {
    out += d;
    writeFileSync(log, out);
  });
  for (let i = 0; i < 100 && !out.includes("api listening"); i++) await sleep(100);
  if (!out.includes("api listening")) throw new Error(`lockstep-api did not start; see ${log}`);
  say(`lockstep-api listening on 127.0.0.1:${port} (log: ${path.relative(repo, log)})`);
  return { url: `http://127.0.0.1:${port}`, child, token };
}

async function http(
  api: DemoApi,
  method: string,
  route: string,
  body?: unknown,
  key?: string,
  token: string | null = api.token,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${api.url}${route}`, {
    method,
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(key ? { "idempotency-key": key } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

/** The API's own description and Prometheus figures, and the pve2 agent's, as a scraper sees them. */
async function showObservability(api: DemoApi, readToken: string): Promise<void> {
  const spec = (await (
    await fetch(`${api.url}/openapi.json`, { headers: { authorization: `Bearer ${readToken}` } })
  ).json()) as { openapi: string; paths: Record<string, unknown> };
  say(
    `GET /openapi.json -> OpenAPI ${spec.openapi}, ${Object.keys(spec.paths).length} paths, from the schemas that validate requests`,
  );
  const metricLines = async (url: string, headers: Record<string, string>, pattern: RegExp) =>
    (await (await fetch(url, { headers })).text())
      .split("\n")
      .filter((line) => pattern.test(line))
      .slice(0, 4);
  for (const line of await metricLines(
    `${api.url}/metrics`,
    { authorization: `Bearer ${readToken}` },
    /^lockstep_(jobs\{|drift_findings_open\{)/,
  ))
    console.log(`   | ${line}`);
  for (const line of await metricLines(
    "http://127.0.0.1:8702/metrics",
    {},
    /^lockstep_agent_(rpcs_total|events_total)/,
  ))
    console.log(`   | ${line}`);
}

async function waitForOperation(api: DemoApi, id: string): Promise<{ status: string; attempts: number }> {
  for (;;) {
    const op = (await http(api, "GET", `/v1/operations/${id}`)).json as { status: string; attempts: number };
    if (["succeeded", "failed", "cancelled"].includes(op.status)) return op;
    await sleep(200);
  }
}

/** Prints an operation's steps as the API streams them (server-sent events), and its outcome. */
async function followSteps(api: DemoApi, operationId: string): Promise<void> {
  const res = await fetch(`${api.url}/v1/operations/${operationId}/events`, {
    headers: { authorization: `Bearer ${api.token}` },
  });
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const message = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (\w+)$/m.exec(message)?.[1];
      const data = JSON.parse(/^data: (.*)$/m.exec(message)?.[1] ?? "null") as {
        name: string;
        status: string;
        changed: boolean;
        duration_ms: number;
        detail: string;
        result?: { changed_steps: string[] };
      };
      if (event === "step" && data.status !== "running")
        say(
          `  ${data.name.padEnd(26)} ${data.status.padEnd(9)} ${String(data.duration_ms).padStart(5)} ms  ${data.changed ? "changed  " : "         "}${data.detail}`,
        );
      if (event === "operation")
        say(
          `  -> ${data.status}; steps that changed something: ${data.result?.changed_steps.length ? data.result.changed_steps.join(", ") : "none"}`,
        );
    }
  }
}

async function main(): Promise<void> {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });

  step("MariaDB: the single source of truth");
  const serverUrl = new URL(readFileSync(path.join(repo, ".local/mariadb/database-url"), "utf8").trim());
  const admin = openDatabase(serverUrl.toString(), { connectionLimit: 1 });
  // A database of the demo's own, fresh each run, so that its records match its new nodes.
  await admin.query("DROP DATABASE IF EXISTS lockstep_demo");
  await admin.query("CREATE DATABASE lockstep_demo CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci");
  await admin.end();
  serverUrl.pathname = "/lockstep_demo";
  const pool = openDatabase(serverUrl.toString(), { connectionLimit: 2 });
  const applied = await migrate(pool, migrations, createMemoryLogger());
  const [tables] = await pool.query("SHOW TABLES");
  say(`schema migrations applied: ${applied.join(", ")}`);
  say(`tables: ${(tables as Record<string, string>[]).map((r) => Object.values(r)[0]).join(", ")}`);
  await pool.end();

  step("A cluster PKI: agents and the API trust each other through mutual TLS");
  makeClusterPki();

  step("A Proxmox cluster of two simulated nodes (one shared /etc/pve), an agent on each");
  const sim = createSimCluster({ nodes: ["pve1", "pve2"], base: work, name: "demo" });
  // A ZFS install's local-zfs: only a zfspool volume with snapshots can be migrated (LXC/Migrate.pm).
  appendFileSync(
    path.join(sim.dir, "storage.cfg"),
    "zfspool: local-zfs\n\tpool rpool/data\n\tsparse 1\n\tcontent images,rootdir\n\n",
  );
  say(
    `cluster '${sim.name}': ${sim.nodes.map((n) => n.name).join(", ")}; /etc/pve of each is ${path.relative(repo, sim.dir)}`,
  );
  const pve1 = await startAgent("pve1", 7701);
  const pve2 = await startAgent("pve2", 7702);
  for (const [name, client] of [
    ["pve1", pve1],
    ["pve2", pve2],
  ] as const) {
    const h = await client.getHealth({});
    say(
      `${name}: pct ${h.pctResponsive ? "answers" : "UNRESPONSIVE"}, ${(h.memoryAvailableBytes / 2 ** 30).toFixed(1)} GiB free`,
    );
  }

  step("The central API: one HTTP request, one record, one job, one container");
  const api = await startApi(serverUrl.toString(), 7780);
  for (const [name, port] of [
    ["pve1", 7701],
    ["pve2", 7702],
  ] as const) {
    const res = await http(api, "POST", "/v1/nodes", { name, address: `127.0.0.1:${port}` }, `demo-register-${name}`);
    say(`POST /v1/nodes ${name} -> ${res.status}`);
  }
  const body = { node: "pve2", ports: ["http", "ssh"], spec: { hostname: "shop-1", source: { template: TEMPLATE } } };
  const sent = await Promise.all([1, 2, 3].map(() => http(api, "POST", "/v1/containers", body, "demo-shop-1")));
  say(
    `the same POST /v1/containers sent 3 times at once -> ${sent.map((r) => r.status).join(", ")} (409 = the first is still being handled: retry)`,
  );
  let created = sent.find((r) => r.status === 202)!.json as {
    id: string;
    vmid: number;
    ports: Record<string, number>;
    operation_id: string;
  };
  const replay = await http(api, "POST", "/v1/containers", body, "demo-shop-1");
  say(
    `retried once more -> ${replay.status}, identical body: ${JSON.stringify(replay.json) === JSON.stringify(created)}`,
  );
  say(`record ${created.id}: VMID ${created.vmid}, ports ${JSON.stringify(created.ports)}`);
  const op = await waitForOperation(api, created.operation_id);
  created = (await http(api, "GET", `/v1/containers/${created.id}`)).json as typeof created;
  say(
    `operation ${op.status} after ${op.attempts} attempt(s); container status: ${(created as unknown as { status: string }).status}`,
  );
  console.log(pct("pve2", ["list"]).replace(/^/gm, "   | "));
  const other = await http(
    api,
    "POST",
    "/v1/containers",
    { ...body, spec: { ...body.spec, hostname: "shop-2" } },
    "demo-shop-1",
  );
  say(`the same key with a different body -> ${other.status} ${(other.json as { code: string }).code}`);
  const deleted = (await http(api, "DELETE", `/v1/containers/${created.id}`, undefined, "demo-delete-shop-1")).json as {
    operation: { id: string };
  };
  say(
    `DELETE -> operation ${(await waitForOperation(api, deleted.operation.id)).status}; pct list on pve2 now: ${JSON.stringify(pct("pve2", ["list"]))}`,
  );

  step("A QEMU VM inside the VMID range: its VMID is never given to a container");
  // The VMID the allocator would hand out next (rising from the last one given: shop-1's).
  const vmVmid = created.vmid + 1;
  say(
    `by hand on pve2: ${spawnSyncText(process.execPath, [simQmBin, "create", String(vmVmid), "--name", "billing-vm"], nodeEnv("pve2")) || `qm create ${vmVmid} --name billing-vm`}`,
  );
  const seen = (await http(api, "POST", "/v1/reconcile", {}, "demo-reconcile-vms")).json as {
    nodes: { node: string; containers: number }[];
  };
  say(
    `POST /v1/reconcile -> ${seen.nodes.map((n) => `${n.node}: ${n.containers} container(s)`).join("; ")}; the nodes report their VMs too`,
  );

  step("A policy: what a token may ask of a hypervisor");
  say(
    `the API and both agents run with ${path.relative(repo, POLICY_FILE)}: Proxmox's root@pam-only line, plus keyctl for Docker and size ceilings`,
  );
  const privileged = await http(
    api,
    "POST",
    "/v1/containers",
    {
      node: "pve2",
      spec: { hostname: "root-on-the-host", source: { template: TEMPLATE }, security: { unprivileged: false } },
    },
    "demo-privileged",
  );
  const problem = privileged.json as { rule: string; violations: { pointer: string; reason: string }[] };
  say(
    `a privileged container -> ${privileged.status} rule ${problem.rule} at ${problem.violations[0]!.pointer}: ${problem.violations[0]!.reason}; nothing written, an incident logged`,
  );

  step("A declared container: the spec in examples/web-app.spec.json, converged step by step");
  const spec = JSON.parse(readFileSync(path.join(repo, "examples/web-app.spec.json"), "utf8")) as {
    files: { content: string }[];
  };
  const web = (await http(api, "POST", "/v1/containers", { node: "pve2", ports: ["http"], spec }, "demo-web-1"))
    .json as { id: string; vmid: number; operation_id: string };
  say(
    `POST /v1/containers -> record ${web.id}, VMID ${web.vmid} (VM ${vmVmid} skipped); steps as GET /v1/operations/{id}/events streams them:`,
  );
  await followSteps(api, web.operation_id);
  const reapplied = (await http(api, "POST", `/v1/containers/${web.id}/apply`, {}, "demo-web-1-apply-1")).json as {
    operation: { id: string };
  };
  say("the same spec applied again (POST /v1/containers/{id}/apply):");
  await followSteps(api, reapplied.operation.id);
  spec.files[0]!.content = "port=9090\n";
  const edited = (await http(api, "POST", `/v1/containers/${web.id}/apply`, { spec }, "demo-web-1-apply-2")).json as {
    operation: { id: string };
  };
  say("one file changed in the spec: only what differs is done, then a new snapshot and pruning:");
  await followSteps(api, edited.operation.id);
  say(
    `snapshots of CT ${web.vmid}: ${(await pve2.listSnapshots({ vmid: web.vmid })).snapshots.map((s) => s.name).join(", ")}`,
  );

  step("Reconciliation: the nodes change behind the database's back");
  pct("pve2", ["stop", String(web.vmid)]);
  pct("pve2", ["create", "300", TEMPLATE, "--storage", "local-lvm", "--hostname", "someone-elses", "--start", "1"]);
  say(`by hand on pve2: pct stop ${web.vmid}; pct create 300 (no Lockstep marker)`);
  const pass = (await http(api, "POST", "/v1/reconcile", {}, "demo-reconcile-1")).json as {
    nodes: { node: string; containers: number; findings: number }[];
  };
  say(
    `POST /v1/reconcile -> ${pass.nodes.map((n) => `${n.node}: ${n.containers} container(s), ${n.findings} finding(s)`).join("; ")}`,
  );
  const found = (await http(api, "GET", "/v1/drift")).json as {
    findings: { kind: string; node: string; vmid: number; detail: string }[];
  };
  for (const f of found.findings) say(`  ${f.kind.padEnd(15)} ${f.node} CT ${f.vmid}: ${f.detail}`);
  const side = (await http(api, "GET", `/v1/nodes/pve2/containers/${web.vmid}`)).json as {
    record: { status: string; observed_state: string };
    on_node: { status: string };
    verdict: { in_sync: boolean };
  };
  say(
    `GET /v1/nodes/pve2/containers/${web.vmid}: record ${side.record.status} (observed ${side.record.observed_state}), node ${side.on_node.status}, in sync: ${side.verdict.in_sync}`,
  );

  step("Migration: an admin moves a container to another node of the cluster; its record follows");
  const blog = (
    await http(
      api,
      "POST",
      "/v1/containers",
      {
        node: "pve1",
        ports: ["http"],
        spec: { hostname: "blog-1", source: { template: TEMPLATE }, resources: { storage: "local-zfs" } },
      },
      "demo-blog-1",
    )
  ).json as { id: string; vmid: number; operation_id: string };
  say(
    `POST /v1/containers -> record ${blog.id}, CT ${blog.vmid} on pve1: ${(await waitForOperation(api, blog.operation_id)).status}`,
  );
  say(`by hand on pve1: pct migrate ${blog.vmid} pve2 --restart`);
  console.log(
    (await pctAsync("pve1", ["migrate", String(blog.vmid), "pve2", "--restart"]))
      .split("\n")
      .slice(-2)
      .join("\n")
      .replace(/^/gm, "   | "),
  );
  await http(api, "POST", "/v1/reconcile", {}, "demo-reconcile-migrate");
  const followed = (await http(api, "GET", `/v1/containers/${blog.id}`)).json as { node: string; status: string };
  say(`after POST /v1/reconcile, GET /v1/containers/${blog.id}: node ${followed.node}, status ${followed.status}`);
  const moves = (await http(api, "GET", `/v1/incidents?vmid=${blog.vmid}`)).json as {
    incidents: { kind: string; detail: string }[];
  };
  for (const i of moves.incidents.filter((i) => i.kind === "container-moved" || i.kind === "ports-reallocated"))
    say(`incident ${i.kind}: ${i.detail}`);
  const destroys = ["pve1", "pve2"]
    .flatMap((n) => startedCalls(path.join(work, n), "destroy"))
    .filter((c) => c.vmid === blog.vmid && !c.caller).length;
  say(
    `no orphan, no missing record, nothing destroyed or made again: Lockstep's pct destroy of CT ${blog.vmid}: ${destroys}`,
  );

  step("Who may do what: tokens with scopes, certificates from the cluster CA");
  const anonymous = await http(api, "GET", "/v1/containers", undefined, undefined, null);
  say(`GET /v1/containers without a token -> ${anonymous.status} ${(anonymous.json as { code: string }).code}`);
  const viewer = await createToken(serverUrl.toString(), "demo-viewer", "read");
  say(
    `GET /v1/containers with a read token -> ${(await http(api, "GET", "/v1/containers", undefined, undefined, viewer)).status}`,
  );
  const refused = await http(api, "DELETE", `/v1/containers/${web.id}`, undefined, "demo-viewer-delete", viewer);
  say(`DELETE with the read token -> ${refused.status}: ${(refused.json as { detail: string }).detail}`);
  const intruder = await createToken(serverUrl.toString(), "demo-intruder", "operator");
  const stolen = await http(
    api,
    "POST",
    "/v1/containers",
    { node: "pve2", ports: ["http"], spec },
    "demo-web-1",
    intruder,
  );
  say(`another token replaying the key demo-web-1 -> ${stolen.status}: ${(stolen.json as { detail: string }).detail}`);
  const uncertified = new AgentClient("127.0.0.1:7702", { defaultTimeoutMs: 5_000 });
  const noCert = await uncertified.getHealth({}).then(
    () => "answered (wrong!)",
    (err: LockstepError) => `refused: ${err.code}`,
  );
  uncertified.close();
  say(`a gRPC call to the pve2 agent without a client certificate -> ${noCert}`);

  step("What the running services say about themselves: /openapi.json and /metrics");
  await showObservability(api, viewer);
  api.child.kill("SIGTERM");

  step("A request retried 20 times becomes one container");
  const create = {
    requestId: "demo-create-web-1",
    vmid: 101,
    template: TEMPLATE,
    hostname: "web-1",
    unprivileged: true,
    start: true,
    ownershipTag: OWNER,
  };
  const results = await Promise.all(Array.from({ length: 20 }, () => pve1.createContainer(create)));
  say(
    `20 identical CreateContainer calls: ${results.filter((r) => !r.replayed).length} executed, ${results.filter((r) => r.replayed).length} answered from the agent's durable request record`,
  );
  say(`pct create ran ${startedCalls(path.join(work, "pve1"), "create").length} time(s) on pve1`);
  console.log(pct("pve1", ["list"]).replace(/^/gm, "   | "));

  step("The config lock: a slow pct holds it, another caller times out");
  const pve1Root = path.join(work, "pve1");
  writeFaults(pve1Root, [{ command: "set", action: "slow", ms: 8000, times: 1 }]);
  const slow = spawn(process.execPath, [simPctBin, "set", "101", "--cores", "2"], {
    env: { ...process.env, ...nodeEnv("pve1") },
    stdio: "ignore",
  });
  const slowClosed = new Promise((r) => slow.on("close", r));
  let report = await pve1.inspectLock({ vmid: 101 });
  while (report.verdict !== agentV1.LockVerdict.HELD) {
    await sleep(100);
    report = await pve1.inspectLock({ vmid: 101 });
  }
  say(
    `InspectLock 101: verdict ${agentV1.LockVerdict[report.verdict]}, holders: ${report.holders.map((h) => `pid ${h.pid} (${h.cmdline})`).join(", ")}`,
  );
  say("pct itself, as an operator would run it (lock timeout shortened to 2 s for the demo):");
  console.log(
    spawnSyncText(process.execPath, [simPctBin, "set", "101", "--memory", "1024"], {
      ...nodeEnv("pve1"),
      LOCKSTEP_SIM_LOCK_TIMEOUT_S: "2",
    }).replace(/^/gm, "   | "),
  );
  try {
    await pve1.updateConfig({ requestId: "demo-set-memory", vmid: 101, ownershipTag: OWNER, set: { memory: "1024" } });
    say("UpdateConfig went through after waiting");
  } catch (err) {
    say(`Lockstep waits with bounded backoff, then: ${(err as LockstepError).code}: ${(err as Error).message}`);
  }
  slow.kill("SIGKILL");
  await slowClosed;

  step("A crash leaves a stale lock; Lockstep clears it before the next operation");
  writeFaults(pve1Root, [{ command: "snapshot", action: "crash", times: 1 }]);
  pct("pve1", ["snapshot", "101", "interrupted"]);
  say(
    `after a snapshot killed midway: ${pct("pve1", ["config", "101"])
      .split("\n")
      .find((l) => l.startsWith("lock:"))}`,
  );
  say(`pct stop now says: ${pct("pve1", ["stop", "101"])}`);
  const fresh = await pve1.inspectLock({ vmid: 101 });
  say(
    `InspectLock 101 at once: ${agentV1.LockVerdict[fresh.verdict]} (${agentV1.LockOwnerKind[fresh.ownerKind]}): config lock '${fresh.configLock}' ${fresh.owner}`,
  );
  await sleep(2500);
  const stale = await pve1.inspectLock({ vmid: 101 });
  say(
    `after the agent's grace period (2 s here, 30 s by default): ${agentV1.LockVerdict[stale.verdict]}: ${stale.owner}`,
  );
  const updated = await pve1.updateConfig({
    requestId: "demo-set-memory-2",
    vmid: 101,
    ownershipTag: OWNER,
    set: { memory: "2048" },
  });
  say(`UpdateConfig: changed ${updated.changedKeys.join(", ")}; the agent logged the clearing:`);
  const logLine = readFileSync(path.join(work, "pve1-agent.log"), "utf8")
    .split("\n")
    .find((l) => l.includes('"event":"lock-cleared"'));
  say(`  ${logLine ?? "(not found)"}`);

  step("A nightly backup: its lock is left alone while Lockstep waits");
  const backup = spawn(process.execPath, [simVzdumpBin, "101"], {
    env: { ...process.env, ...nodeEnv("pve1"), LOCKSTEP_SIM_VZDUMP_MS: "3000" },
    stdio: "ignore",
  });
  const backupDone = new Promise((r) => backup.on("close", r));
  for (
    let i = 0;
    i < 200 && !/^lock: backup$/m.test(readFileSync(path.join(pve1Root, "etc/pve/lxc/101.conf"), "utf8"));
    i++
  )
    await sleep(50);
  // vzdump holds the flock only while it writes the lock (set_lock); then the task alone owns it.
  let during = await pve1.inspectLock({ vmid: 101 });
  for (let i = 0; i < 100 && during.ownerKind !== agentV1.LockOwnerKind.TASK; i++) {
    await sleep(50);
    during = await pve1.inspectLock({ vmid: 101 });
  }
  say(
    `vzdump 101 is running; InspectLock 101: ${agentV1.LockVerdict[during.verdict]} (${agentV1.LockOwnerKind[during.ownerKind]}): config lock '${during.configLock}' ${during.owner}`,
  );
  const unlocksBefore = startedCalls(pve1Root, "unlock").length;
  const waitStart = Date.now();
  const duringBackup = await pve1.updateConfig({
    requestId: "demo-set-cores-backup",
    vmid: 101,
    ownershipTag: OWNER,
    set: { cores: "4" },
  });
  say(
    `UpdateConfig waited ${((Date.now() - waitStart) / 1000).toFixed(1)} s for the backup to end, then changed ${duringBackup.changedKeys.join(", ")}`,
  );
  await backupDone;
  say(
    `pct unlock runs while the backup held its lock: ${startedCalls(pve1Root, "unlock").length - unlocksBefore}; the archive: ${readdirSync(path.join(pve1Root, "var/lib/vz/dump")).join(", ")}`,
  );

  step("The push race: the unit file lands late, systemd must not be asked too early");
  writeFaults(path.join(work, "pve1"), [{ command: "push", action: "delay-visibility", ms: 1500 }]);
  const unit = Buffer.from(
    "[Unit]\nDescription=demo app\n[Service]\nExecStart=/usr/bin/app\n[Install]\nWantedBy=multi-user.target\n",
  );
  const service = await pve1.ensureService({
    requestId: "demo-service-app",
    vmid: 101,
    ownershipTag: OWNER,
    unit: "app.service",
    unitContent: unit,
    enable: true,
    start: true,
  });
  say(
    `EnsureService app.service: enabled=${service.enabled} active=${service.active} (verified by checksum inside the container, no sleep)`,
  );
  writeFaults(path.join(work, "pve1"), []);

  step("Snapshot retention: keep the 3 newest Lockstep snapshots, never anyone else's");
  pct("pve1", ["snapshot", "101", "operator-manual"]);
  for (let i = 1; i <= 5; i++)
    await pve1.createSnapshot({
      requestId: `demo-snapshot-${i}`,
      vmid: 101,
      ownershipTag: OWNER,
      name: `lockstep-${i}`,
    });
  const pruned = await pve1.pruneSnapshots({
    requestId: "demo-prune-1",
    vmid: 101,
    ownershipTag: OWNER,
    keepLast: 3,
    prefix: "lockstep",
  });
  say(`deleted ${pruned.deleted.join(", ")}; kept ${pruned.kept.join(", ")}`);
  console.log(pct("pve1", ["listsnapshot", "101"]).replace(/^/gm, "   | "));

  step("Someone else's container is never adopted");
  pct("pve2", ["create", "200", TEMPLATE, "--storage", "local-lvm", "--hostname", "not-ours"]);
  try {
    await pve2.createContainer({
      requestId: "demo-create-200",
      vmid: 200,
      template: TEMPLATE,
      hostname: "mine",
      unprivileged: true,
      ownershipTag: "lockstep-demo-2",
    });
  } catch (err) {
    say(`CreateContainer 200 on pve2: ${(err as LockstepError).code}: ${(err as Error).message}`);
  }

  step("Clean termination");
  const gone = await pve1.destroyContainer({
    requestId: "demo-destroy-101",
    vmid: 101,
    ownershipTag: OWNER,
    force: true,
  });
  const again = await pve1.destroyContainer({
    requestId: "demo-destroy-101-again",
    vmid: 101,
    ownershipTag: OWNER,
    force: true,
  });
  say(`destroy: already_gone=${gone.alreadyGone}; destroying again: already_gone=${again.alreadyGone}`);
  say(`pct list on pve1 now prints ${JSON.stringify(pct("pve1", ["list"]))} (nothing at all, as Proxmox does)`);
  pve1.close();
  pve2.close();
}

main()
  .catch((err: unknown) => {
    console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const agent of agents) agent.kill("SIGTERM");
    await sleep(300);
    console.log(`\n${bold("Demo finished.")} Agent logs and node state are in .local/demo/.`);
  });
