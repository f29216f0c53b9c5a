import { LockstepError } from "@lockstep/shared";
import { runPctList } from "../containers/pct-list.js";
import type { ClusterFsState } from "../node/cluster-fs.js";
import { readClusterMembership, type ClusterMembership } from "../node/cluster-membership.js";
import type { NodeContext } from "../node/node-context.js";
import { withinBound } from "../node/within-bound.js";

/** Whether the node answers: what Health reports beside the host's statistics. */
export interface NodeProbe {
  readonly pctResponsive: boolean;
  readonly pctDetail: string;
  /** /etc/pve as Proxmox judges it (node/cluster-fs.ts); anything but `ok` is an outage. */
  readonly clusterFsState: ClusterFsState;
  readonly clusterFsDetail: string;
  /** The node's cluster while /etc/pve is `ok`; null when it cannot be read. */
  readonly cluster: ClusterMembership | null;
}

/**
 * Probes the node. The cluster filesystem first, within its own short bound (an lstat that
 * pmxcfs answers in microseconds). When it is not `ok`, `pct` is not run (every `pct` reads
 * /etc/pve, and one started on a hung pmxcfs would only hang too, probe after probe) and is
 * reported unresponsive for that reason, so a probe answers in time while pmxcfs hangs.
 * Otherwise `pct` is probed with a cheap `pct list` under a short timeout: a `pct` that does
 * not answer means the node's LXC tooling is unresponsive, which the API escalates instead of
 * acting on; and the node's cluster (name and members) is read from /etc/pve/.members beside it.
 */
export async function probeNode(ctx: NodeContext, probeTimeoutMs: number): Promise<NodeProbe> {
  const fs = await ctx.clusterFs.probe();
  if (fs.state !== "ok") {
    return {
      pctResponsive: false,
      pctDetail: `not run: the cluster filesystem is ${fs.state}`,
      clusterFsState: fs.state,
      clusterFsDetail: fs.detail,
      cluster: null,
    };
  }
  // Bounded here, not only by pct's own timeout: stopping a pct that hangs on a pmxcfs gone
  // bad since the look above can take its kill grace, or longer.
  const unanswered = { pctResponsive: false, pctDetail: `pct list did not answer within ${probeTimeoutMs} ms` };
  const [answer, cluster] = await Promise.all([
    withinBound(probePct(ctx, probeTimeoutMs), probeTimeoutMs, unanswered),
    membership(ctx, probeTimeoutMs),
  ]);
  return { ...answer, clusterFsState: fs.state, clusterFsDetail: fs.detail, cluster };
}

/**
 * The node's cluster; a read that fails (malformed) or is not answered within the probe's
 * bound (queued behind a read stuck on one hung file) leaves it unknown for this answer:
 * a probe never waits on /etc/pve longer than its bound.
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
    return {
      pctResponsive: false,
      pctDetail: `pct list exited ${result.exitCode}: ${result.stderr.trim().slice(0, 300)}`,
    };
  } catch (err) {
    if (err instanceof LockstepError) return { pctResponsive: false, pctDetail: err.message };
    throw err;
  }
}
