import type { NodeLimits, PctTimeouts, VerifyPolicy } from "../node/node-context.js";
import { clusterPaths, type NodePaths } from "../node/node-paths.js";
import type { AgentConfig } from "./agent-config.js";

/** Where the node keeps what the agent reads, from the configuration: the daemon's and the doctor's alike. */
export function nodePathsOf(config: AgentConfig): NodePaths {
  return {
    pct: config.pctPath,
    lockDir: config.lockDir,
    configDir: config.configDir,
    ...clusterPaths(config.configDir),
    tasksActive: config.tasksActive,
    migrationLockDir: config.migrationLockDir,
    procRoot: config.procRoot,
    pctEnv: config.nodeEnv,
  };
}

/** The timeouts of `pct` calls, by kind of work. */
export function pctTimeoutsOf(config: AgentConfig): PctTimeouts {
  return {
    readMs: config.pctReadTimeoutMs,
    createMs: config.pctCreateTimeoutMs,
    destroyMs: config.pctDestroyTimeoutMs,
    powerMs: config.pctPowerTimeoutMs,
    snapshotMs: config.pctSnapshotTimeoutMs,
    pushMs: config.pctPushTimeoutMs,
    execDefaultMs: config.execDefaultTimeoutMs,
    execMaxMs: config.execMaxTimeoutMs,
  };
}

/** How a pushed file is read back until it is really there. */
export function verifyPolicyOf(config: AgentConfig): VerifyPolicy {
  return {
    attempts: config.verifyAttempts,
    initialDelayMs: config.verifyInitialDelayMs,
    maxDelayMs: config.verifyMaxDelayMs,
  };
}

/** The bounds on a command's output and on a pushed file. */
export function nodeLimitsOf(config: AgentConfig): NodeLimits {
  return { execOutputBytes: config.execOutputBytes, pushBytes: config.pushBytes };
}
