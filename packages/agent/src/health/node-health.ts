import { LockstepError } from "@lockstep/shared";
import type { NodeContext } from "../node/node-context.js";
import { runPctList } from "../containers/pct-list.js";
import type { HostStats, HostStatsSource } from "./host-stats.js";

export interface NodeHealth extends HostStats {
  readonly node: string;
  readonly agentVersion: string;
  readonly pctResponsive: boolean;
  readonly pctDetail: string;
  readonly checkedAtMs: number;
}

/**
 * The node's health. `pct` is probed with a cheap `pct list` under a short timeout: a `pct`
 * that does not answer means the node's LXC tooling is unresponsive (a hung cluster
 * filesystem blocks every `pct`), which the API escalates instead of acting on.
 */
export async function readNodeHealth(ctx: NodeContext, stats: HostStatsSource, agentVersion: string, probeTimeoutMs: number): Promise<NodeHealth> {
  const [host, probe] = await Promise.all([stats.read(), probePct(ctx, probeTimeoutMs)]);
  return { ...host, node: ctx.node, agentVersion, ...probe, checkedAtMs: ctx.clock.now() };
}

async function probePct(ctx: NodeContext, timeoutMs: number): Promise<{ pctResponsive: boolean; pctDetail: string }> {
  try {
    const result = await runPctList(ctx, timeoutMs);
    if (result.exitCode === 0) return { pctResponsive: true, pctDetail: "" };
    return { pctResponsive: false, pctDetail: `pct list exited ${result.exitCode}: ${result.stderr.trim().slice(0, 300)}` };
  } catch (err) {
    if (err instanceof LockstepError) return { pctResponsive: false, pctDetail: err.message };
    throw err;
  }
}
