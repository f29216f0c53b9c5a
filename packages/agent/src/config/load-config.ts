import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  compileConfig,
  ConfigError,
  DEFAULT_POLICY,
  envName,
  readJsonFile,
  readPolicyFile,
  type KeySpec,
} from "@lockstep/shared";
import { simulatorEnvironment } from "../pct/pct-environment.js";
import { clusterPaths } from "../node/node-paths.js";
import type { AgentConfig } from "./agent-config.js";

const MIN = 60_000;
const HOST_PORT = /^(\[[0-9a-fA-F:]+\]|[a-zA-Z0-9.-]+):\d{1,5}$/;
const ABSOLUTE = /^\/[^\0]*$/;
const NODE_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
const CLIENT_NAMES = /^[a-zA-Z0-9._-]+(,[a-zA-Z0-9._-]+)*$/;
const optionalPath: KeySpec = { kind: "string", default: "", pattern: ABSOLUTE, describe: "an absolute path" };
const LOOPBACK_LISTEN = /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost):\d+$/;

/**
 * The settings as written: keys of agent.json, LOCKSTEP_AGENT_<KEY> variables and flags,
 * flat, so that each is named alike everywhere (and in every error). `grouped` turns them
 * into the AgentConfig the agent is handed.
 */
interface AgentSettings {
  readonly node: string;
  readonly listen: string;
  readonly transport: "mtls" | "plaintext-loopback";
  readonly tlsCa: string;
  readonly tlsCert: string;
  readonly tlsKey: string;
  readonly tlsAllowedClients: string;
  readonly simulate: string;
  readonly pctPath: string;
  readonly lockDir: string;
  readonly configDir: string;
  readonly tasksActive: string;
  readonly migrationLockDir: string;
  readonly procRoot: string;
  readonly stateDir: string;
  readonly logLevel: "debug" | "info" | "warn" | "error";
  readonly logFormat: "auto" | "json" | "pretty";
  readonly requestRetentionMs: number;
  readonly maxRequestRecords: number;
  readonly lockRetries: number;
  readonly lockBackoffMs: number;
  readonly lockBackoffMaxMs: number;
  readonly lockStaleGraceMs: number;
  readonly pctReadTimeoutMs: number;
  readonly pctCreateTimeoutMs: number;
  readonly pctTerminateGraceMs: number;
  readonly pctDestroyTimeoutMs: number;
  readonly pctPowerTimeoutMs: number;
  readonly pctSnapshotTimeoutMs: number;
  readonly pctPushTimeoutMs: number;
  readonly execDefaultTimeoutMs: number;
  readonly execMaxTimeoutMs: number;
  readonly probeTimeoutMs: number;
  readonly healthIntervalMs: number;
  readonly clusterFsTimeoutMs: number;
  readonly clusterFsProbeTimeoutMs: number;
  readonly verifyAttempts: number;
  readonly verifyInitialDelayMs: number;
  readonly verifyMaxDelayMs: number;
  readonly execOutputBytes: number;
  readonly pushBytes: number;
  readonly grpcMaxMessageBytes: number;
  readonly maxConcurrentOperations: number;
  readonly metricsListen: string;
  readonly shutdownDrainMs: number;
  readonly heapGrowthPercent: number;
  readonly policyFile: string;
  readonly executorSocket: string;
  readonly executorUser: string;
}

/** Every key, its type, bounds and default. Durations are milliseconds. */
function specs(defaults: { node: string; simulate: string | null }): Record<keyof AgentSettings, KeySpec> {
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
    // 0 leaves V8's own heuristics (daemon/heap-growth.ts says why the agent sets it).
    heapGrowthPercent: { kind: "int", default: 20, min: 0, max: 400 },
    // Empty: the default policy, Proxmox's own line between root@pam and everyone else.
    policyFile: {
      kind: "string",
      default: "",
      pattern: ABSOLUTE,
      describe: "an absolute path, or empty for the default policy",
      emptyTurnsOff: true,
    },
    // Empty: one process runs gRPC and pct. Set: the root executor listens here
    // (`lockstep-agent executor`) and the network process, unprivileged, calls it.
    executorSocket: {
      kind: "string",
      default: "",
      pattern: ABSOLUTE,
      describe: "an absolute path, or empty to run pct in the agent's own process",
      emptyTurnsOff: true,
    },
    executorUser: {
      kind: "string",
      default: "lockstep-agent",
      pattern: /^[a-z_][a-z0-9_-]{0,31}$/,
      describe: "a user name",
    },
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
  const settings = compileConfig<AgentSettings>(specs({ node, simulate }), {
    file,
    env: inputs.env,
    envPrefix: "LOCKSTEP_AGENT",
    flags,
  });
  if (settings.lockBackoffMaxMs < settings.lockBackoffMs)
    throw new ConfigError(
      `lockBackoffMaxMs (${settings.lockBackoffMaxMs}) must not be below lockBackoffMs (${settings.lockBackoffMs})`,
    );
  if (settings.execMaxTimeoutMs < settings.execDefaultTimeoutMs)
    throw new ConfigError(`execMaxTimeoutMs must not be below execDefaultTimeoutMs`);
  const nodeEnv = settings.simulate ? simulatorEnvironment(settings.simulate, settings.node, inputs.env) : {};
  return grouped(settings, {
    nodeEnv,
    pctPath: simulate && !settings.pctPath ? inputs.simPct : settings.pctPath,
  });
}

/** The settings in the groups their users take: built here once, never re-read elsewhere. */
function grouped(s: AgentSettings, node: { nodeEnv: Record<string, string>; pctPath: string }): AgentConfig {
  return {
    node: s.node,
    simulate: s.simulate || null,
    transport: {
      listen: s.listen,
      kind: s.transport,
      ca: s.tlsCa,
      cert: s.tlsCert,
      key: s.tlsKey,
      allowedClients: s.tlsAllowedClients ? s.tlsAllowedClients.split(",") : [],
      maxMessageBytes: s.grpcMaxMessageBytes,
    },
    paths: {
      pct: node.pctPath,
      lockDir: s.lockDir,
      configDir: s.configDir,
      ...clusterPaths(s.configDir),
      tasksActive: s.tasksActive,
      migrationLockDir: s.migrationLockDir,
      procRoot: s.procRoot,
      pctEnv: node.nodeEnv,
    },
    stateDir: s.stateDir,
    logging: { level: s.logLevel, format: s.logFormat },
    requests: { retentionMs: s.requestRetentionMs, maxRecords: s.maxRequestRecords },
    locks: {
      retries: s.lockRetries,
      backoffMs: s.lockBackoffMs,
      backoffMaxMs: s.lockBackoffMaxMs,
      staleGraceMs: s.lockStaleGraceMs,
    },
    pct: {
      timeouts: {
        readMs: s.pctReadTimeoutMs,
        createMs: s.pctCreateTimeoutMs,
        destroyMs: s.pctDestroyTimeoutMs,
        powerMs: s.pctPowerTimeoutMs,
        snapshotMs: s.pctSnapshotTimeoutMs,
        pushMs: s.pctPushTimeoutMs,
        execDefaultMs: s.execDefaultTimeoutMs,
        execMaxMs: s.execMaxTimeoutMs,
      },
      terminateGraceMs: s.pctTerminateGraceMs,
    },
    verify: { attempts: s.verifyAttempts, initialDelayMs: s.verifyInitialDelayMs, maxDelayMs: s.verifyMaxDelayMs },
    limits: { execOutputBytes: s.execOutputBytes, pushBytes: s.pushBytes },
    health: {
      probeTimeoutMs: s.probeTimeoutMs,
      intervalMs: s.healthIntervalMs,
      clusterFsTimeoutMs: s.clusterFsTimeoutMs,
      clusterFsProbeTimeoutMs: s.clusterFsProbeTimeoutMs,
    },
    metricsListen: s.metricsListen,
    operations: { maxConcurrent: s.maxConcurrentOperations, shutdownDrainMs: s.shutdownDrainMs },
    heapGrowthPercent: s.heapGrowthPercent,
    // Read once, here: a missing, unreadable or invalid file stops the start naming policyFile.
    policy: s.policyFile ? readPolicyFile(s.policyFile, "policyFile") : DEFAULT_POLICY,
    executor: { socket: s.executorSocket, user: s.executorUser },
  };
}

/** Why the transport cannot start, or null: mTLS needs all three files; plaintext is only for a loopback listener, never by accident. */
export function transportProblem(config: AgentConfig): string | null {
  const { kind, listen } = config.transport;
  if (kind === "plaintext-loopback") {
    return LOOPBACK_LISTEN.test(listen)
      ? null
      : `transport plaintext-loopback needs a loopback listen address (127.x.x.x, [::1] or localhost), got listen ${JSON.stringify(listen)}`;
  }
  const files = { tlsCa: config.transport.ca, tlsCert: config.transport.cert, tlsKey: config.transport.key };
  const missing = (Object.keys(files) as (keyof typeof files)[]).find((key) => !files[key]);
  return missing
    ? `${missing} is required with transport mtls (set it in the config file or ${envName("LOCKSTEP_AGENT", missing)}; transport plaintext-loopback is for loopback development only)`
    : null;
}

function readConfigFile(file: string | null): { path: string; values: Record<string, unknown> } | undefined {
  if (!file) return undefined;
  const values = readJsonFile(file, "config file");
  if (typeof values !== "object" || values === null || Array.isArray(values))
    throw new ConfigError(`config file: ${file} must hold a JSON object`);
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
