import { spawnSync } from "node:child_process";
import path from "node:path";
import { controlPmxcfs, fuseSupport, readPmxcfsState, type PmxcfsAction } from "@lockstep/sim";

/** LOCKSTEP_SIM_ROOT, LOCKSTEP_SIM_NODE and LOCKSTEP_SIM_CLUSTER of one node. */
export type NodeEnv = Readonly<Record<string, string>>;

/**
 * The simulated pmxcfs of every node of the scenario's cluster: a real FUSE mount at each
 * node's `/etc/pve`, or, on a machine without FUSE, the plain directories of links (and then
 * no pmxcfs fault can be injected). Every mount is resumed and unmounted by `unmountAll`.
 */
export class ClusterPmxcfs {
  /** Every instance with a mount, for the exit handler of an interrupted suite. */
  private static readonly live = new Set<ClusterPmxcfs>();
  private readonly mounted = new Set<string>();

  private constructor(
    private readonly envs: ReadonlyMap<string, NodeEnv>,
    /** Why the nodes run on plain directories, or null when pmxcfs serves them. */
    readonly unavailable: string | null,
  ) {}

  /** Mounts pmxcfs on each node (before any agent starts), when this machine has FUSE. */
  static async mountAll(envs: ReadonlyMap<string, NodeEnv>): Promise<ClusterPmxcfs> {
    const support = fuseSupport();
    const pmxcfs = new ClusterPmxcfs(envs, support.ok ? null : support.reason);
    if (!support.ok) return pmxcfs;
    try {
      for (const node of envs.keys()) {
        ClusterPmxcfs.live.add(pmxcfs);
        pmxcfs.mounted.add(node);
        await controlPmxcfs("mount", { ...envs.get(node)! });
      }
    } catch (err) {
      await pmxcfs.unmountAll();
      throw err;
    }
    return pmxcfs;
  }

  get available(): boolean {
    return this.unavailable === null;
  }

  /** One control of one node's pmxcfs (pause, resume, stop, start, no-quorum, quorum). */
  async control(node: string, action: Exclude<PmxcfsAction, "mount" | "unmount">): Promise<string> {
    return controlPmxcfs(action, { ...this.envs.get(node)! });
  }

  /** Every node's pmxcfs running, resumed and quorate again, whatever a fault left. */
  async restoreAll(): Promise<void> {
    for (const node of this.mounted) {
      // `resume` fails on a stopped server, which `start` then brings back (quorum is restored after).
      await this.control(node, "resume").catch(() => undefined);
      await this.control(node, "start");
      await this.control(node, "quorum");
    }
  }

  /** Resumes and unmounts every mount: each node is back on its plain directory of links. */
  async unmountAll(): Promise<void> {
    for (const node of [...this.mounted]) {
      await this.control(node, "resume").catch(() => undefined);
      await controlPmxcfs("unmount", { ...this.envs.get(node)! }).catch(() => lazyUnmount(this.envs.get(node)!));
      this.mounted.delete(node);
    }
    ClusterPmxcfs.live.delete(this);
  }

  /**
   * The last resort when the suite is interrupted: a lazy unmount of every mount point still
   * there, so that no paused mount is left to hang every `df` on the machine. Synchronous, for
   * a signal handler.
   */
  static unmountEverywhereNow(): void {
    for (const pmxcfs of ClusterPmxcfs.live) for (const node of pmxcfs.mounted) lazyUnmount(pmxcfs.envs.get(node)!);
  }
}

/** `fusermount3 -u -z`, then the server killed, so that no call waits on it any more. */
function lazyUnmount(env: NodeEnv): void {
  spawnSync("fusermount3", ["-u", "-z", path.join(env.LOCKSTEP_SIM_ROOT!, "etc/pve")], { stdio: "ignore" });
  const pid = readPmxcfsState(env.LOCKSTEP_SIM_ROOT!)?.pid;
  if (pid) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}
