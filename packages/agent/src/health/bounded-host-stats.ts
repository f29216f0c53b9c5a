import { withinBound } from "../node/within-bound.js";
import type { HostStats, HostStatsSource } from "./host-stats.js";

const NO_STATS: HostStats = {
  cpuPercent: 0,
  load: [0, 0, 0],
  memoryTotalBytes: 0,
  memoryAvailableBytes: 0,
  disks: [],
  uptimeSeconds: 0,
};

/**
 * Host statistics that never hold Health up: a read slower than `timeoutMs` answers with the
 * last statistics read (none yet: zeros), and no second read starts while one still runs.
 * `systeminformation` runs `df`, which statfs()es every mount, /etc/pve included: under a hung
 * pmxcfs it never returns, and a read per Health call would pile up stuck processes.
 */
export function boundedHostStats(source: HostStatsSource, timeoutMs: number): HostStatsSource {
  let last: HostStats = NO_STATS;
  let running: Promise<HostStats> | null = null;
  return {
    async read() {
      running ??= source
        .read()
        .then((stats) => (last = stats))
        .finally(() => (running = null));
      return withinBound(running, timeoutMs, last);
    },
  };
}
