// `lockstep-node describe` and `call`, the real binaries end to end: bin/lockstep-node.js
// against bin/lockstep-agent.js on a simulated node, over mutual TLS, knowing the contract
// only from the agent's reflection.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import test from "ava";
import { OWNED, TEMPLATE, type AgentUnderTest } from "../integration/agent-harness.js";
import { agentOnSim } from "../integration/agent-harness.js";

const CLI = fileURLToPath(new URL("../../bin/lockstep-node.js", import.meta.url));

function cli(
  agent: Pick<AgentUnderTest, "cliEnv">,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...agent.cliEnv } });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

test("describe lists every service and method with its request and response types, and which side streams", async (t) => {
  const agent = await agentOnSim(t);
  const out = await cli(agent, ["describe"]);
  t.is(out.code, 0, out.stderr);
  const lines = out.stdout.split("\n");
  t.deepEqual(
    lines.filter((l) => l.startsWith("service ")),
    [
      "service grpc.health.v1.Health",
      "service grpc.reflection.v1.ServerReflection",
      "service grpc.reflection.v1alpha.ServerReflection",
      "service lockstep.agent.v1.NodeAgent",
    ],
  );
  t.true(
    lines.includes("  rpc GetHealth(lockstep.agent.v1.GetHealthRequest) returns (lockstep.agent.v1.GetHealthResponse)"),
  );
  t.true(
    lines.includes("  rpc WatchEvents(lockstep.agent.v1.WatchEventsRequest) returns (stream lockstep.agent.v1.Event)"),
  );
  t.true(
    lines.includes(
      "  rpc Watch(grpc.health.v1.HealthCheckRequest) returns (stream grpc.health.v1.HealthCheckResponse)",
    ),
  );
  t.true(
    lines.includes(
      "  rpc ServerReflectionInfo(stream grpc.reflection.v1.ServerReflectionRequest) returns (stream grpc.reflection.v1.ServerReflectionResponse)",
    ),
  );
  const json = JSON.parse((await cli(agent, ["--json", "describe"])).stdout) as {
    services: { name: string; methods: { name: string; serverStreaming: boolean }[] }[];
  };
  const nodeAgent = json.services.find((s) => s.name === "lockstep.agent.v1.NodeAgent")!;
  t.true(nodeAgent.methods.some((m) => m.name === "ClearLock" && !m.serverStreaming));
});

test("describe of one method shows the fields of its request and response", async (t) => {
  const agent = await agentOnSim(t);
  const out = await cli(agent, ["describe", "NodeAgent/ClearLock"]);
  t.is(out.code, 0, out.stderr);
  t.regex(
    out.stdout,
    /^rpc ClearLock\(lockstep\.agent\.v1\.ClearLockRequest\) returns \(lockstep\.agent\.v1\.ClearLockResponse\)\nrequest lockstep\.agent\.v1\.ClearLockRequest\n {2}requestId: string\n {2}vmid: uint32\n/,
  );
});

test("call GetHealth '{}' prints the node's health as proto3 JSON", async (t) => {
  const agent = await agentOnSim(t);
  const out = await cli(agent, ["call", "GetHealth", "{}"]);
  t.is(out.code, 0, out.stderr);
  const health = JSON.parse(out.stdout) as Record<string, unknown>;
  t.like(health, { node: "pve1", pctResponsive: true, clusterFsState: "CLUSTER_FS_STATE_OK" });
  t.regex(String(health.memoryTotalBytes), /^\d+$/, "a 64-bit integer is a JSON string, as proto3 JSON writes it");
});

test("call reaches the standard health service too, by service and method or fully qualified", async (t) => {
  const agent = await agentOnSim(t);
  const short = await cli(agent, ["call", "Health/Check", '{"service": "lockstep.agent.v1.NodeAgent"}']);
  t.is(short.code, 0, short.stderr);
  t.regex(short.stdout, /^\{\n {2}"status": "(SERVING|NOT_SERVING)"\n\}\n$/);
  t.is((await cli(agent, ["call", "/grpc.health.v1.Health/Check", "{}"])).code, 0);
});

test("call Health '{}' is an unknown method, and the names near it are offered", async (t) => {
  const agent = await agentOnSim(t);
  const out = await cli(agent, ["call", "Health", "{}"]);
  t.is(out.code, 2);
  t.is(
    out.stderr,
    "lockstep-node: unknown method 'Health'; did you mean grpc.health.v1.Health/Check, grpc.health.v1.Health/Watch, grpc.health.v1.Health/List, lockstep.agent.v1.NodeAgent/GetHealth? (lockstep-node describe lists them)\n",
  );
  t.is(out.stdout, "");
});

test("call with a field the request does not have names the field and sends nothing", async (t) => {
  const agent = await agentOnSim(t);
  await agent.pct(["create", "101", TEMPLATE, ...OWNED]);
  const out = await cli(agent, [
    "call",
    "ClearLock",
    '{"requestId": "cli-call-typo", "vmid": 101, "removeFlie": true}',
  ]);
  t.is(out.code, 2);
  t.is(
    out.stderr,
    "lockstep-node: unknown field 'removeFlie': lockstep.agent.v1.ClearLockRequest has requestId, vmid, removeFile\n",
  );
  const op = await agent.client
    .getOperation({ requestId: "cli-call-typo" })
    .catch((err: { code?: string }) => err.code);
  t.is(op, "NOT_FOUND", "the agent never saw the request");
});

test("call with a body that is not JSON says so", async (t) => {
  const agent = await agentOnSim(t);
  const out = await cli(agent, ["call", "InspectLock", '{"vmid": 101']);
  t.is(out.code, 2);
  t.regex(out.stderr, /^lockstep-node: the request body is not JSON: /);
});

test("a mutating call carries the request ID of its JSON: the agent refuses one without, and replays a repeated one", async (t) => {
  const agent = await agentOnSim(t);
  await agent.pct(["create", "101", TEMPLATE, ...OWNED]);
  const missing = await cli(agent, ["call", "ClearLock", '{"vmid": 101}']);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /^lockstep-node: INVALID_ARGUMENT: .*request/i);
  const body = '{"requestId": "cli-call-clear-101", "vmid": 101}';
  const first = JSON.parse((await cli(agent, ["call", "ClearLock", body])).stdout) as { replayed: boolean };
  const again = JSON.parse((await cli(agent, ["call", "ClearLock", body])).stdout) as { replayed: boolean };
  t.deepEqual([first.replayed, again.replayed], [false, true]);
});

test("call of a server-streaming method prints each message as one JSON line", async (t) => {
  const agent = await agentOnSim(t);
  const out = await cli(agent, [
    "--timeout",
    "3000",
    "call",
    "grpc.health.v1.Health/Watch",
    '{"service": "unknown.Service"}',
  ]);
  t.is(out.code, 0, out.stderr);
  t.is(out.stdout, '{"status":"SERVICE_UNKNOWN"}\n');
});

test("a JSON body the shell split into words is refused before anything is sent", async (t) => {
  // No agent at all: the mistake is caught before the CLI connects.
  const nowhere = {
    cliEnv: {
      LOCKSTEP_NODE_TARGET: "127.0.0.1:1",
      LOCKSTEP_NODE_CA: "/nonexistent",
      LOCKSTEP_NODE_CERT: "/nonexistent",
      LOCKSTEP_NODE_KEY: "/nonexistent",
    },
  };
  const out = await cli(nowhere, ["call", "InspectLock", "{vmid:", "101}"]);
  t.is(out.code, 2);
  t.is(
    out.stderr,
    `lockstep-node: call takes a method and one JSON body; quote the body as one argument: '{"vmid": 101}'\n`,
  );
});
