import type { Clock } from "@lockstep/shared";
import type { HostStats, HostStatsSource } from "./host-stats.js";
import type { NodeProbe } from "./node-probe.js";

export interface NodeHealth extends HostStats, NodeProbe {
  readonly node: string;
  readonly agentVersion: string;
  readonly checkedAtMs: number;
}

/**
 * The node's health: the host's statistics beside a probe of `pct` and /etc/pve
 * (health/node-probe.ts). The probe is passed in so that its answer also sets the gRPC health
 * service's status (health/serving-monitor.ts).
 */
export async function readNodeHealth(
  ctx: { readonly node: string; readonly clock: Clock },
  stats: HostStatsSource,
  agentVersion: string,
  probe: () => Promise<NodeProbe>,
): Promise<NodeHealth> {
  const [host, found] = await Promise.all([stats.read(), probe()]);
  return { ...host, node: ctx.node, agentVersion, ...found, checkedAtMs: ctx.clock.now() };
}
