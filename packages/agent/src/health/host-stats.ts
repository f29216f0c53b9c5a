import os from "node:os";
import si from "systeminformation";

/** Load, memory and disks of the host. */
export interface HostStats {
  readonly cpuPercent: number;
  readonly load: readonly [number, number, number];
  readonly memoryTotalBytes: number;
  readonly memoryAvailableBytes: number;
  readonly disks: readonly { mount: string; totalBytes: number; usedBytes: number }[];
  readonly uptimeSeconds: number;
}

/** The boundary to the host's statistics, so health logic is tested without a real host. */
export interface HostStatsSource {
  read(): Promise<HostStats>;
}

// Pseudo and container filesystems say nothing about the node's storage.
const IGNORED_FS = /^(tmpfs|devtmpfs|overlay|squashfs|proc|sysfs|cgroup2?|fuse\..*)$/;

/** Host statistics through `systeminformation`. */
export const systemHostStats: HostStatsSource = {
  async read() {
    const [load, mem, disks] = await Promise.all([si.currentLoad(), si.mem(), si.fsSize()]);
    const [l1, l5, l15] = os.loadavg();
    return {
      cpuPercent: Math.round(load.currentLoad * 10) / 10,
      load: [l1 ?? 0, l5 ?? 0, l15 ?? 0],
      memoryTotalBytes: mem.total,
      memoryAvailableBytes: mem.available,
      disks: disks
        .filter((d) => !IGNORED_FS.test(d.type) && d.size > 0)
        .map((d) => ({ mount: d.mount, totalBytes: d.size, usedBytes: d.used })),
      uptimeSeconds: Math.round(os.uptime()),
    };
  },
};
