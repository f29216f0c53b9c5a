import { parseArgs } from "node:util";
import { ConfigError, createStreamLogger, lockstepVersion, resolveLogFormat } from "@lockstep/shared";
import { layOutSimNode, simPctBin } from "@lockstep/sim";
import { compileAgentConfig, loadAgentConfig } from "../config/load-config.js";
import { runDoctor } from "../doctor/doctor-main.js";
import { startAgent } from "./agent-daemon.js";
import { startExecutor } from "./executor-daemon.js";
import { limitHeapGrowth } from "./heap-growth.js";

const USAGE = `usage: lockstep-agent [--config file.json] [--listen host:port] [--node name]
                      [--metrics-listen host:port|""] [--simulate <dir>] [--state-dir dir]
                      [--log-format auto|json|pretty]
                      [--tls-ca ca.crt --tls-cert node.crt --tls-key node.key]
       lockstep-agent --version

Runs the Lockstep node agent. Every setting can also come from the config file or from
LOCKSTEP_AGENT_<KEY> environment variables (e.g. LOCKSTEP_AGENT_LOCK_RETRIES=5).
--simulate runs against a simulated node rooted at <dir> instead of /usr/sbin/pct.
Logs are JSON lines, or readable lines when stdout is a terminal (--log-format auto).
Several agents on one host (simulated nodes) each need their own --listen, and their own
--metrics-listen or an empty one (no metrics listener).
gRPC is mutual TLS: clients need a certificate from the cluster CA (see lockstep-pki).
LOCKSTEP_AGENT_TRANSPORT=plaintext-loopback turns TLS off, for a loopback listener only.
lockstep-agent doctor [--help] checks the node, read-only, and exits.
lockstep-agent executor [the same options] runs the root executor alone: the part that runs
pct, listening on executorSocket for the agent, which then runs unprivileged (see
docs/security.md, "The agent split").`;

async function main(): Promise<void> {
  if (process.argv[2] === "doctor") {
    const code = await runDoctor(process.argv.slice(3), process.env, {
      out: (t) => process.stdout.write(t),
      err: (t) => process.stderr.write(t),
    });
    // Nothing of the doctor's may keep the process: a tool or a read stuck in a hung pmxcfs was already given up.
    process.exit(code);
  }
  const executorMode = process.argv[2] === "executor";
  const { values } = parseArgs({
    args: process.argv.slice(executorMode ? 3 : 2),
    options: {
      config: { type: "string" },
      listen: { type: "string" },
      "metrics-listen": { type: "string" },
      "log-format": { type: "string" },
      node: { type: "string" },
      simulate: { type: "string" },
      "state-dir": { type: "string" },
      "tls-ca": { type: "string" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean" },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (values.version) {
    process.stdout.write(`${lockstepVersion()}\n`);
    return;
  }
  const flags = {
    listen: values.listen,
    metricsListen: values["metrics-listen"],
    logFormat: values["log-format"],
    node: values.node,
    simulate: values.simulate,
    stateDir: values["state-dir"],
    tlsCa: values["tls-ca"],
    tlsCert: values["tls-cert"],
    tlsKey: values["tls-key"],
  };
  const inputs = { configPath: values.config ?? null, flags, env: process.env, simPct: simPctBin };
  // The executor serves no TLS: the node's certificate and key are the network process's alone.
  const config = executorMode ? compileAgentConfig(inputs) : loadAgentConfig(inputs);
  limitHeapGrowth(config.heapGrowthPercent);
  // A real node's /etc/pve is there before its agent starts; a simulated one is laid out now
  // (its /etc/pve and the `local` link that says pmxcfs is there), joining its cluster if any.
  const nodeSide = executorMode || !config.executor.socket;
  if (config.simulate && nodeSide)
    layOutSimNode(config.simulate, config.node, config.paths.pctEnv.LOCKSTEP_SIM_CLUSTER || null);
  const logger = createStreamLogger(process.stdout, {
    level: config.logging.level,
    format: resolveLogFormat(config.logging.format, process.stdout),
    bound: { service: executorMode ? "lockstep-executor" : "lockstep-agent", node: config.node },
  });
  if (!executorMode && config.transport.kind === "plaintext-loopback")
    logger.warn(
      "gRPC is PLAINTEXT without client authentication (transport plaintext-loopback): for loopback development only, never on a real node",
      { listen: config.transport.listen },
    );
  const agent = executorMode ? await startExecutor(config, logger) : await startAgent(config, logger);
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info("shutting down", { signal });
    agent.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error("shutdown failed", { err });
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

main().catch((err: unknown) => {
  const message =
    err instanceof ConfigError ? `configuration: ${err.message}` : err instanceof Error ? err.message : String(err);
  process.stderr.write(`lockstep-agent: ${message}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
