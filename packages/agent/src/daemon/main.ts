import { parseArgs } from "node:util";
import { ConfigError, createJsonLogger } from "@lockstep/shared";
import { simPctBin } from "@lockstep/sim";
import { loadAgentConfig } from "../config/load-config.js";
import { startAgent } from "./agent-daemon.js";

const USAGE = `usage: lockstep-agent [--config file.json] [--listen host:port] [--node name]
                      [--simulate <dir>] [--state-dir dir]

Runs the Lockstep node agent. Every setting can also come from the config file or from
LOCKSTEP_AGENT_<KEY> environment variables (e.g. LOCKSTEP_AGENT_LOCK_RETRIES=5).
--simulate runs against a simulated node rooted at <dir> instead of /usr/sbin/pct.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: "string" },
      listen: { type: "string" },
      node: { type: "string" },
      simulate: { type: "string" },
      "state-dir": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const flags = { listen: values.listen, node: values.node, simulate: values.simulate, stateDir: values["state-dir"] };
  const config = loadAgentConfig({ configPath: values.config ?? null, flags, env: process.env, simPct: simPctBin });
  const logger = createJsonLogger(process.stdout, config.logLevel, { service: "lockstep-agent", node: config.node });
  if (!/^(127\.|\[::1\]|localhost:)/.test(config.listen)) logger.warn("gRPC is plaintext on a non-loopback address; restrict access until mTLS is configured", { listen: config.listen });
  const agent = await startAgent(config, logger);
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
  const message = err instanceof ConfigError ? `configuration: ${err.message}` : err instanceof Error ? err.message : String(err);
  process.stderr.write(`lockstep-agent: ${message}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
