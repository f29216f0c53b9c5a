import type { Clock } from "@lockstep/shared";
import { ClusterFs, type ClusterFsOptions } from "../node/cluster-fs.js";
import { ProcessPctRunner } from "../pct/process-pct-runner.js";
import type { ProcReader } from "../proc/proc-reader.js";
import type { AgentConfig } from "./agent-config.js";

/**
 * The node's two slow boundaries, `/etc/pve` and `pct`, as the configuration sets them: the
 * daemon and the doctor build them alike, so the doctor sees what the daemon would.
 */
export function configuredClusterFs(
  config: AgentConfig,
  options: Pick<ClusterFsOptions, "maxStuckReaders" | "clock" | "logger" | "onChange">,
): ClusterFs {
  return new ClusterFs({
    pveDir: config.paths.pveDir,
    timeoutMs: config.health.clusterFsTimeoutMs,
    probeTimeoutMs: config.health.clusterFsProbeTimeoutMs,
    ...options,
  });
}

/** `pct` with the configured read timeout, output bound and grace; task workers found in `proc`. */
export function configuredPctRunner(config: AgentConfig, clock: Clock, proc?: ProcReader): ProcessPctRunner {
  return new ProcessPctRunner({
    pct: config.paths.pct,
    env: config.paths.pctEnv,
    defaultTimeoutMs: config.pct.timeouts.readMs,
    defaultMaxOutputBytes: config.limits.execOutputBytes,
    terminateGraceMs: config.pct.terminateGraceMs,
    clock,
    ...(proc ? { proc } : {}),
  });
}
