// Several agents on one host, as the README and `lockstep-agent --help` say to run them:
// each its own --listen, and its own metricsListen or an empty one.
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { fileURLToPath } from "node:url";
import test from "ava";
import { logEntry, scratchDir } from "@lockstep/shared";
import { agentOnSim, startAgentOnSim } from "./agent-harness.js";

const AGENT_BIN = fileURLToPath(new URL("../../bin/lockstep-agent.js", import.meta.url));

/** The TCP ports a process listens on, from its socket descriptors and the kernel's socket table. */
function listeningPorts(pid: number): number[] {
  const inodes = new Set(
    readdirSync(`/proc/${pid}/fd`)
      .map((fd) => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          return "";
        }
      })
      .map((link) => /^socket:\[(\d+)\]$/.exec(link)?.[1])
      .filter((inode): inode is string => inode !== undefined),
  );
  const ports: number[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const row of readFileSync(table, "utf8").trim().split("\n").slice(1)) {
      const cols = row.trim().split(/\s+/);
      // st 0A is LISTEN; the local address ends in the port, in hex.
      if (cols[3] === "0A" && inodes.has(cols[9] ?? ""))
        ports.push(Number.parseInt(cols[1]?.split(":").pop() ?? "", 16));
    }
  }
  return ports.sort();
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test("two agents on one host, each with its own listen address and an empty metricsListen, both serve and open no metrics port", async (t) => {
  const agents = await Promise.all(
    ["pve1", "pve2"].map((node) =>
      agentOnSim(t, { LOCKSTEP_AGENT_NODE: node, LOCKSTEP_SIM_NODE: node, LOCKSTEP_AGENT_METRICS_LISTEN: "" }),
    ),
  );
  for (const agent of agents) {
    t.is(agent.metricsUrl, null);
    t.is((await agent.client.getHealth({})).node, agent.node);
    const grpcPort = Number(String(logEntry(agent.logs(), "agent listening")?.address).split(":").pop());
    t.deepEqual(listeningPorts(agent.process.pid ?? 0), [grpcPort]);
  }
});

test("a second agent given a metricsListen the first holds refuses to start, naming the setting and the way out", async (t) => {
  const metrics = `127.0.0.1:${await freePort()}`;
  const first = await agentOnSim(t, { LOCKSTEP_AGENT_METRICS_LISTEN: metrics });
  const error = await t.throwsAsync(
    startAgentOnSim(
      { LOCKSTEP_AGENT_NODE: "pve2", LOCKSTEP_SIM_NODE: "pve2", LOCKSTEP_AGENT_METRICS_LISTEN: metrics },
      scratchDir(t, "agent-node"),
    ),
  );
  t.regex(
    error?.message ?? "",
    /lockstep-agent: configuration: metricsListen 127\.0\.0\.1:\d+ cannot be bound: .*EADDRINUSE.*need a metricsListen each, or an empty one/,
  );
  t.is(first.metricsUrl, `http://${metrics}/metrics`);
});

test("--metrics-listen with an empty value turns the metrics listener off, as the agent's help says", async (t) => {
  const agent = await startAgentOnSim({}, scratchDir(t, "agent-node"), {
    wrap: (argv) => [...argv, "--metrics-listen", ""],
  });
  t.teardown(() => agent.stop());
  t.is(agent.metricsUrl, null);
  const help = await new Promise<string>((resolve) => {
    const child = spawn(process.execPath, [AGENT_BIN, "--help"], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("close", () => resolve(out));
  });
  t.regex(help, /\[--metrics-listen host:port\|""\]/);
  t.regex(help, /their own\s+--metrics-listen or an empty one \(no metrics listener\)/);
});
