import path from "node:path";
import type { ClusterFsStatus } from "../../node/cluster-fs.js";
import { fail, pass, type DoctorCheck } from "../check.js";
import type { DoctorContext } from "../doctor-context.js";
import { isFuse, mountOf, readMountInfo } from "../mount-info.js";

/** One look at `/etc/pve/local`, as the agent looks before every change (node/cluster-fs.ts probe). */
function probe(ctx: DoctorContext): Promise<ClusterFsStatus> {
  return ctx.once("cluster-fs probe", () => ctx.clusterFs.probe());
}

/** pmxcfs is there: `/etc/pve/local` is its link (Cluster.pm check_cfs_is_mounted), answering in time. */
export const pveMountedCheck: DoctorCheck = {
  id: "pve-mounted",
  title: "/etc/pve mounted (pmxcfs)",
  async run(ctx) {
    const status = await probe(ctx);
    if (status.state === "not-mounted" || status.state === "unresponsive") return fail(status.detail);
    return pass(
      `${path.join(ctx.paths.pveDir, "local")} is pmxcfs's link, answered within ${ctx.config.health.clusterFsProbeTimeoutMs} ms`,
    );
  },
};

/**
 * /etc/pve is pmxcfs's FUSE mount, read from the mount table (no call into the mount, which
 * may hang). A simulated node serves it through FUSE only once its pmxcfs is mounted
 * (lockstep-sim-pmxcfs); before that it is the simulator's directory of pmxcfs's links.
 */
export const pveFuseCheck: DoctorCheck = {
  id: "pve-fuse",
  title: "/etc/pve is a FUSE filesystem",
  async run(ctx) {
    const pveDir = ctx.paths.pveDir;
    if (ctx.simulated && !ctx.simulated.pmxcfsServed())
      return pass(`simulated node without a FUSE pmxcfs: ${pveDir} is the simulator's directory of pmxcfs's links`);
    const mount = mountOf(await readMountInfo(), pveDir);
    if (mount?.mountpoint === pveDir && isFuse(mount)) return pass(`${mount.fstype} mount from ${mount.source}`);
    return fail(
      `${pveDir} is not a FUSE mount: it is on ${mount ? `${mount.fstype} mounted at ${mount.mountpoint}` : "no mount this process sees"}`,
    );
  },
};

/** The node has quorum: `/etc/pve/local` keeps its write bit (Cluster.pm check_cfs_quorum). */
export const pveQuorumCheck: DoctorCheck = {
  id: "pve-quorum",
  title: "cluster quorate",
  async run(ctx) {
    const status = await probe(ctx);
    if (status.state === "ok") return pass(`quorate: ${path.join(ctx.paths.pveDir, "local")} is writable`);
    if (status.state === "no-quorum") return fail(status.detail);
    return fail(`cannot tell while /etc/pve is ${status.state}`);
  },
};
