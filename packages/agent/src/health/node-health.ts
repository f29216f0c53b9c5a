import { LockstepError } from "@lockstep/shared";
import type { ClusterFsState } from "../node/cluster-fs.js";
import { readClusterMembership, type ClusterMembership } from "../node/cluster-membership.js";
import { withinBound } from "../node/within-bound.js";
import type { NodeContext } from "../node/node-context.js";
import { runPctList } from "../containers/pct-list.js";
import type { HostStats, HostStatsSource } from "./host-stats.js";

export interface NodeHealth extends HostStats {
  readonly node: string;
  readonly agentVersion: string;
  readonly pctResponsive: boolean;
  readonly pctDetail: string;
  /** /etc/pve as Proxmox judges it (node/cluster-fs.ts); anything but `ok` is an outage. */
  readonly clusterFsState: ClusterFsState;
  readonly clusterFsDetail: string;
  /** The node's cluster while /etc/pve is `ok`; null when it cannot be read. */
  readonly cluster: ClusterMembership | null;
  readonly checkedAtMs: number;
}

/**
 * The node's health. `pct` is probed with a cheap `pct list` under a short timeout: a `pct`
 * that does not answer means the node's LXC tooling is unresponsive (a hung cluster
 * filesystem blocks every `pct`), which the API escalates instead of acting on. The cluster
 * filesystem is probed beside it, within its own short bound; when it is not `ok`, `pct` is
 * not waited for (every `pct` reads /etc/pve) and is reported unresponsive for that reason,
 * so Health answers in time while pmxcfs hangs. The node's cluster (name and members) is read
 * from /etc/pve/.members beside it, only while the filesystem is `ok`.
 */
export async function readNodeHealth(ctx: NodeContext, stats: HostStatsSource, agentVersion: string, probeTimeoutMs: number): Promise<NodeHealth> {
  const pct = probePct(ctx, probeTimeoutMs);
  // Not awaited when /etc/pve is not ok: its end (bounded by its own timeout) is of no interest.
  void pct.catch(() => undefined);
  const [host, fs] = await Promise.all([stats.read(), ctx.clusterFs.probe()]);
  const [probe, cluster] = fs.state === "ok" ? await Promise.all([pct, membership(ctx, probeTimeoutMs)]) : [{ pctResponsive: false, pctDetail: `not waited for: the cluster filesystem is ${fs.state}` }, null];
  return { ...host, node: ctx.node, agentVersion, ...probe, clusterFsState: fs.state, clusterFsDetail: fs.detail, cluster, checkedAtMs: ctx.clock.now() };
}

/**
 * The node's cluster; a read that fails (malformed) or is not answered within the probe's
 * bound (queued behind a read stuck on one hung file) leaves it unknown for this answer:
 * Health never waits on /etc/pve longer than its probe does.
 */
async function membership(ctx: NodeContext, boundMs: number): Promise<ClusterMembership | null> {
  const read = readClusterMembership(ctx.clusterFs, ctx.paths.pveDir, ctx.node).catch((err: unknown) => {
    ctx.logger.warn("cannot read the node's cluster membership", { err });
    return null;
  });
  return withinBound(read, boundMs, null);
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
