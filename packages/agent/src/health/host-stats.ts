import { readFile, statfs } from "node:fs/promises";
import os from "node:os";
import si from "systeminformation";
import { cpuPercent, parseCpuTimes, type CpuTimes } from "./cpu-usage.js";
import { localMounts } from "./local-disks.js";

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

/**
 * The host's statistics, read from /proc and statfs(2) without starting a process:
 * `systeminformation`'s CPU load runs `cat /proc/stat | grep` through a shell synchronously
 * (the event loop stops for it) and its disks run `df`, which statfs()es every mount and hangs
 * on a hung pmxcfs. Memory is still its (a read of /proc/meminfo). The CPU percentage is over
 * the time since the last read (since boot at the first).
 */
export function systemHostStats(): HostStatsSource {
  let lastCpu: CpuTimes | null = null;
  return {
    async read() {
      const [procStat, mem, disks] = await Promise.all([readFile("/proc/stat", "utf8"), si.mem(), readLocalDisks()]);
      const cpu = parseCpuTimes(procStat);
      const percent = cpuPercent(lastCpu, cpu);
      lastCpu = cpu;
      const [l1, l5, l15] = os.loadavg();
      return {
        cpuPercent: percent,
        load: [l1 ?? 0, l5 ?? 0, l15 ?? 0],
        memoryTotalBytes: mem.total,
        memoryAvailableBytes: mem.available,
        disks,
        uptimeSeconds: Math.round(os.uptime()),
      };
    },
  };
}

async function readLocalDisks(): Promise<HostStats["disks"]> {
  const mounts = localMounts(await readFile("/proc/self/mountinfo", "utf8"));
  const disks = await Promise.all(
    mounts.map(async ({ mountPoint }) => {
      // A mount gone between the two reads is left out, not an error.
      const fs = await statfs(mountPoint).catch(() => null);
      if (!fs || fs.blocks === 0) return null;
      return {
        mount: mountPoint,
        totalBytes: fs.blocks * fs.bsize,
        usedBytes: (fs.blocks - fs.bfree) * fs.bsize,
      };
    }),
  );
  return disks.filter((d) => d !== null);
}
