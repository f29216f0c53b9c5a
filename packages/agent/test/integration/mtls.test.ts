import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { credentials, type ChannelCredentials } from "@grpc/grpc-js";
import test from "ava";
import {
  AgentClient,
  agentClientCredentials,
  agentV1,
  LockstepError,
  logEntry,
  type TlsFiles,
  type TestScope,
} from "@lockstep/shared";
import { agentOnSim, TEMPLATE, type AgentUnderTest } from "./agent-harness.js";
import { foreignPki, testPki } from "./test-pki.js";

const CLI = fileURLToPath(new URL("../../bin/lockstep-node.js", import.meta.url));
type Method = keyof typeof agentV1.NodeAgentService;
const METHODS = Object.keys(agentV1.NodeAgentService) as Method[];

/** A request each RPC would act on if it got through: valid enough to reach the node. */
const PROBE = {
  vmid: 150,
  requestId: "mtls-probe-0001",
  ostemplate: TEMPLATE,
  hostname: "intruder",
  argv: ["touch", "/root/pwned"],
  path: "/root/pwned",
  content: Buffer.from("x"),
  name: "intruder",
  keepLast: 1,
  sourceVmid: 150,
};

async function call(client: AgentClient, method: Method): Promise<LockstepError | null> {
  if (method === "watchEvents") {
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 3_000).unref();
    return client
      .watchEvents({}, () => undefined, abort.signal)
      .then(
        () => null,
        (err: LockstepError) => err,
      );
  }
  const fn = (client as unknown as Record<string, (req: unknown, o: { timeoutMs: number }) => Promise<unknown>>)[
    method
  ]!;
  return fn.call(client, PROBE, { timeoutMs: 5_000 }).then(
    () => null,
    (err: LockstepError) => err,
  );
}

function clientWith(agent: AgentUnderTest, creds: ChannelCredentials): AgentClient {
  return new AgentClient(agent.client.target, {
    credentials: creds,
    channelOptions: { "grpc.ssl_target_name_override": agent.node },
  });
}

function withCert(agent: AgentUnderTest, files: TlsFiles): AgentClient {
  return new AgentClient(agent.client.target, agentClientCredentials(files, agent.node));
}

function nodeFiles(agent: AgentUnderTest): string {
  return `${readFileSync(`${agent.root}/etc/pve/lxc/150.conf`, "utf8")}`;
}

/** Every RPC through `client` fails with `code`, and the node is left exactly as it was. */
async function everyRpcRefused(
  t: import("ava").ExecutionContext,
  agent: AgentUnderTest,
  client: AgentClient,
  code: LockstepError["code"],
): Promise<void> {
  const before = nodeFiles(agent);
  for (const method of METHODS) {
    const err = await call(client, method);
    t.is(err?.code, code, `${method} was refused`);
  }
  client.close();
  t.is(nodeFiles(agent), before, "the container's config is unchanged");
  t.is(
    (await agent.pct(["exec", "150", "--", "test", "-e", "/root/pwned"])).code,
    1,
    "no command ran in the container",
  );
}

async function agentWithContainer(t: TestScope, env: Record<string, string> = {}): Promise<AgentUnderTest> {
  const agent = await agentOnSim(t, env);
  await agent.pct(["create", "150", TEMPLATE, "--storage", "local-lvm", "--hostname", "victim", "--start", "1"]);
  return agent;
}

test("a client with a certificate from the cluster CA is served", async (t) => {
  const agent = await agentWithContainer(t);
  t.teardown(() => agent.stop());
  t.true((await agent.client.getHealth({})).pctResponsive);
});

test("no RPC succeeds over plaintext", async (t) => {
  const agent = await agentWithContainer(t);
  t.teardown(() => agent.stop());
  await everyRpcRefused(t, agent, clientWith(agent, credentials.createInsecure()), "UNAVAILABLE");
});

test("no RPC succeeds over TLS without a client certificate", async (t) => {
  const agent = await agentWithContainer(t);
  t.teardown(() => agent.stop());
  const ca = readFileSync((await (await testPki()).client("test-operator")).ca);
  await everyRpcRefused(t, agent, clientWith(agent, credentials.createSsl(ca)), "UNAVAILABLE");
});

test("no RPC succeeds with a client certificate from another CA", async (t) => {
  const agent = await agentWithContainer(t);
  t.teardown(() => agent.stop());
  const stranger = await (await foreignPki(t)).client("test-operator");
  const ourCa = (await (await testPki()).client("test-operator")).ca;
  // The stranger even trusts our CA, so only its own certificate can be what fails.
  await everyRpcRefused(t, agent, withCert(agent, { ...stranger, ca: ourCa }), "UNAVAILABLE");
});

test("a cluster client not among tlsAllowedClients is denied every RPC, and an allowed one is served", async (t) => {
  const agent = await agentWithContainer(t, { LOCKSTEP_AGENT_TLS_ALLOWED_CLIENTS: "lockstep-api" });
  t.teardown(() => agent.stop());
  const api = withCert(agent, await (await testPki()).client("lockstep-api"));
  t.teardown(() => api.close());
  t.true((await api.getHealth({})).pctResponsive);
  await everyRpcRefused(
    t,
    agent,
    withCert(agent, await (await testPki()).client("test-operator")),
    "PERMISSION_DENIED",
  );
  t.deepEqual(logEntry(agent.logs(), "refused a client certificate not in tlsAllowedClients")?.names, [
    "test-operator",
  ]);
});

test("a client refuses an agent whose certificate names another node", async (t) => {
  const agent = await agentWithContainer(t);
  t.teardown(() => agent.stop());
  const operator = await (await testPki()).client("test-operator");
  const impostor = new AgentClient(agent.client.target, agentClientCredentials(operator, "pve2"));
  t.teardown(() => impostor.close());
  const refused = await impostor.getHealth({}).then(
    () => null,
    (err: LockstepError) => err,
  );
  t.is(refused?.code, "UNAVAILABLE");
  t.regex(refused?.message ?? "", /pve2|certificate|altnames/i);
});

function cli(
  agent: AgentUnderTest,
  env: Record<string, string>,
  args: string[],
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, "--target", agent.client.target, ...args], {
      env: { ...process.env, LOCKSTEP_NODE_CA: "", LOCKSTEP_NODE_CERT: "", LOCKSTEP_NODE_KEY: "", ...env },
    });
    let stderr = "";
    p.stderr.on("data", (d) => (stderr += d));
    p.on("close", (code) => resolve({ code, stderr }));
  });
}

test("the node CLI without a client certificate says which settings are missing", async (t) => {
  const agent = await agentWithContainer(t);
  t.teardown(() => agent.stop());
  const result = await cli(agent, {}, ["health"]);
  t.is(result.code, 2);
  t.regex(
    result.stderr,
    /needs a client certificate from the cluster CA: set --ca \(LOCKSTEP_NODE_CA\), --cert \(LOCKSTEP_NODE_CERT\), --key \(LOCKSTEP_NODE_KEY\)/,
  );
});

test("the node CLI takes its certificate from flags and is refused with a foreign one", async (t) => {
  const agent = await agentWithContainer(t);
  t.teardown(() => agent.stop());
  const ours = await (await testPki()).client("test-operator");
  const ok = await cli(agent, {}, ["--ca", ours.ca, "--cert", ours.cert, "--key", ours.key, "health"]);
  t.is(ok.code, 0, ok.stderr);
  const stranger = await (await foreignPki(t)).client("test-operator");
  const refused = await cli(agent, {}, ["--ca", ours.ca, "--cert", stranger.cert, "--key", stranger.key, "ct", "list"]);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /UNAVAILABLE/);
});
