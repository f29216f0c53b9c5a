import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { compileConfig, ConfigError, envName, type KeySpec } from "@lockstep/shared";
import { simulatorEnvironment } from "../pct/pct-environment.js";
import type { AgentConfig } from "./agent-config.js";

const MIN = 60_000;
const HOST_PORT = /^(\[[0-9a-fA-F:]+\]|[a-zA-Z0-9.-]+):\d{1,5}$/;
const ABSOLUTE = /^\/[^\0]*$/;
const NODE_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
const CLIENT_NAMES = /^[a-zA-Z0-9._-]+(,[a-zA-Z0-9._-]+)*$/;
const optionalPath: KeySpec = { kind: "string", default: "", pattern: ABSOLUTE, describe: "an absolute path" };
const LOOPBACK_LISTEN = /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost):\d+$/;

/** Every key, its type, bounds and default. Durations are milliseconds. */
function specs(defaults: {
  node: string;
  simulate: string | null;
}): Record<Exclude<keyof AgentConfig, "nodeEnv">, KeySpec> {
  const sim = defaults.simulate;
  const under = (p: string, real: string): string => (sim ? path.join(sim, p) : real);
  const abs = (d: string): KeySpec => ({ kind: "string", default: d, pattern: ABSOLUTE, describe: "an absolute path" });
  return {
    node: {
      kind: "string",
      default: defaults.node,
      pattern: NODE_NAME,
      describe: "a node name (letters, digits, inner hyphens)",
    },
    listen: { kind: "string", default: "127.0.0.1:7000", pattern: HOST_PORT, describe: "host:port" },
    transport: { kind: "enum", default: "mtls", values: ["mtls", "plaintext-loopback"] },
    tlsCa: optionalPath,
    tlsCert: optionalPath,
    tlsKey: optionalPath,
    tlsAllowedClients: {
      kind: "string",
      default: "",
      pattern: CLIENT_NAMES,
      describe: "comma-separated certificate names",
    },
    simulate: { kind: "string", default: sim ?? "", pattern: /^(\/.*)?$/, describe: "an absolute path" },
    pctPath: abs(sim ? "" : "/usr/sbin/pct"),
    lockDir: abs(under("run/lock/lxc", "/run/lock/lxc")),
    configDir: abs(under("etc/pve/lxc", "/etc/pve/lxc")),
    tasksActive: abs(under("var/log/pve/tasks/active", "/var/log/pve/tasks/active")),
    migrationLockDir: abs(under("var/lock/pve-manager", "/var/lock/pve-manager")),
    procRoot: abs("/proc"),
    stateDir: abs(under("var/lib/lockstep-agent", "/var/lib/lockstep-agent")),
    logLevel: { kind: "enum", default: "info", values: ["debug", "info", "warn", "error"] },
    logFormat: { kind: "enum", default: "auto", values: ["auto", "json", "pretty"] },
    requestRetentionMs: { kind: "int", default: 24 * 60 * MIN, min: MIN, max: 30 * 24 * 60 * MIN },
    maxRequestRecords: { kind: "int", default: 200_000, min: 1_000, max: 10_000_000 },
    lockRetries: { kind: "int", default: 3, min: 0, max: 20 },
    lockBackoffMs: { kind: "int", default: 1_000, min: 10, max: MIN },
    lockBackoffMaxMs: { kind: "int", default: 8_000, min: 10, max: 10 * MIN },
    // A `lock:` with no possible owner must stay so this long before it is STALE: a create's
    // placeholder has neither flock nor listed task for milliseconds before its worker runs.
    lockStaleGraceMs: { kind: "int", default: 30_000, min: 1_000, max: 60 * MIN },
    pctReadTimeoutMs: { kind: "int", default: 30_000, min: 100, max: 10 * MIN },
    pctCreateTimeoutMs: { kind: "int", default: 20 * MIN, min: 1_000, max: 120 * MIN },
    // After a timeout pct gets SIGTERM (it hands TERM to its task worker, which cleans up) and
    // this long to finish before its process group is killed: pve-common kill_process_group
    // gives a worker 5 s.
    pctTerminateGraceMs: { kind: "int", default: 7_000, min: 100, max: 5 * MIN },
    pctDestroyTimeoutMs: { kind: "int", default: 10 * MIN, min: 1_000, max: 120 * MIN },
    pctPowerTimeoutMs: { kind: "int", default: 5 * MIN, min: 1_000, max: 60 * MIN },
    pctSnapshotTimeoutMs: { kind: "int", default: 10 * MIN, min: 1_000, max: 120 * MIN },
    pctPushTimeoutMs: { kind: "int", default: 2 * MIN, min: 1_000, max: 60 * MIN },
    execDefaultTimeoutMs: { kind: "int", default: MIN, min: 100, max: 60 * MIN },
    execMaxTimeoutMs: { kind: "int", default: 30 * MIN, min: 100, max: 240 * MIN },
    probeTimeoutMs: { kind: "int", default: 10_000, min: 100, max: 5 * MIN },
    // A `pct list` is a Perl start-up on a real node: every 15 s costs little, and the API's
    // Health polls, which share the probe, keep it fresher.
    healthIntervalMs: { kind: "int", default: 15_000, min: 100, max: 10 * MIN },
    // pmxcfs answers from memory in microseconds; seconds without an answer is a hung pmxcfs.
    clusterFsTimeoutMs: { kind: "int", default: 5_000, min: 100, max: 5 * MIN },
    // Health answers within this while pmxcfs hangs, so it stays well under a second.
    clusterFsProbeTimeoutMs: { kind: "int", default: 500, min: 50, max: MIN },
    verifyAttempts: { kind: "int", default: 12, min: 1, max: 100 },
    verifyInitialDelayMs: { kind: "int", default: 50, min: 1, max: MIN },
    verifyMaxDelayMs: { kind: "int", default: 2_000, min: 1, max: 5 * MIN },
    execOutputBytes: { kind: "int", default: 1024 * 1024, min: 1024, max: 64 * 1024 * 1024 },
    pushBytes: { kind: "int", default: 16 * 1024 * 1024, min: 1024, max: 512 * 1024 * 1024 },
    grpcMaxMessageBytes: { kind: "int", default: 32 * 1024 * 1024, min: 64 * 1024, max: 1024 * 1024 * 1024 },
    maxConcurrentOperations: { kind: "int", default: 32, min: 1, max: 10_000 },
    metricsListen: {
      kind: "string",
      default: "127.0.0.1:9470",
      pattern: HOST_PORT,
      describe: "host:port, or empty for no metrics",
      emptyTurnsOff: true,
    },
    shutdownDrainMs: { kind: "int", default: 30_000, min: 0, max: 10 * MIN },
  };
}

export interface ConfigInputs {
  /** `--config` or LOCKSTEP_AGENT_CONFIG; a missing default file is fine, a missing named one is not. */
  readonly configPath: string | null;
  readonly flags: Record<string, unknown>;
  readonly env: NodeJS.ProcessEnv;
  /** The simulator's executable, for `--simulate`. */
  readonly simPct: string;
}

/** Reads, merges and validates the configuration: the only place raw settings are looked at. */
export function loadAgentConfig(inputs: ConfigInputs): AgentConfig {
  const compiled = compileAgentConfig(inputs);
  const problem = transportProblem(compiled);
  if (problem) throw new ConfigError(problem);
  return compiled;
}

/**
 * The configuration as `loadAgentConfig` makes it, except that the transport's files are not
 * required yet: the doctor reports missing certificates as one of its checks, beside the rest.
 */
export function compileAgentConfig(inputs: ConfigInputs): AgentConfig {
  const simulate =
    typeof inputs.flags.simulate === "string"
      ? path.resolve(inputs.flags.simulate)
      : inputs.env.LOCKSTEP_AGENT_SIMULATE
        ? path.resolve(inputs.env.LOCKSTEP_AGENT_SIMULATE)
        : null;
  const flags = { ...inputs.flags, ...(simulate ? { simulate } : {}) };
  const file = readConfigFile(inputs.configPath ?? inputs.env.LOCKSTEP_AGENT_CONFIG ?? null);
  const node = simulate ? simulatedNodeName(simulate, inputs.env) : os.hostname().split(".")[0]!;
  const config = compileConfig<Omit<AgentConfig, "tlsAllowedClients" | "nodeEnv"> & { tlsAllowedClients: string }>(
    specs({ node, simulate }),
    { file, env: inputs.env, envPrefix: "LOCKSTEP_AGENT", flags },
  );
  const compiled: AgentConfig = {
    ...config,
    simulate: config.simulate || null,
    nodeEnv: config.simulate ? simulatorEnvironment(config.simulate, config.node, inputs.env) : {},
    pctPath: simulate && !config.pctPath ? inputs.simPct : config.pctPath,
    tlsAllowedClients: config.tlsAllowedClients ? config.tlsAllowedClients.split(",") : [],
  };
  if (compiled.lockBackoffMaxMs < compiled.lockBackoffMs)
    throw new ConfigError(
      `lockBackoffMaxMs (${compiled.lockBackoffMaxMs}) must not be below lockBackoffMs (${compiled.lockBackoffMs})`,
    );
  if (compiled.execMaxTimeoutMs < compiled.execDefaultTimeoutMs)
    throw new ConfigError(`execMaxTimeoutMs must not be below execDefaultTimeoutMs`);
  return compiled;
}

/** Why the transport cannot start, or null: mTLS needs all three files; plaintext is only for a loopback listener, never by accident. */
export function transportProblem(config: AgentConfig): string | null {
  if (config.transport === "plaintext-loopback") {
    return LOOPBACK_LISTEN.test(config.listen)
      ? null
      : `transport plaintext-loopback needs a loopback listen address (127.x.x.x, [::1] or localhost), got listen ${JSON.stringify(config.listen)}`;
  }
  const missing = (["tlsCa", "tlsCert", "tlsKey"] as const).find((key) => !config[key]);
  return missing
    ? `${missing} is required with transport mtls (set it in the config file or ${envName("LOCKSTEP_AGENT", missing)}; transport plaintext-loopback is for loopback development only)`
    : null;
}

function readConfigFile(file: string | null): { path: string; values: Record<string, unknown> } | undefined {
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  let values: unknown;
  try {
    values = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof values !== "object" || values === null || Array.isArray(values))
    throw new ConfigError(`config file ${file} must hold a JSON object`);
  return { path: file, values: values as Record<string, unknown> };
}

/**
 * A simulated node's name: LOCKSTEP_SIM_NODE when it joins a cluster by that name, else the
 * name the simulator gave it in `<root>/etc/hostname`; the agent must agree with the simulator.
 */
function simulatedNodeName(root: string, env: NodeJS.ProcessEnv): string {
  if (env.LOCKSTEP_SIM_NODE) return env.LOCKSTEP_SIM_NODE;
  try {
    return readFileSync(path.join(root, "etc/hostname"), "utf8").trim() || "pve1";
  } catch {
    return "pve1";
  }
}
