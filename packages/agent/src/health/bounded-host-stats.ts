import type { Clock } from "@lockstep/shared";
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

/** How host statistics are read: within what bound, and how often at most. */
export interface HostStatsBounds {
  /** A read slower than this answers with the last statistics. */
  readonly timeoutMs: number;
  /** Statistics this young are answered as they are, without a new read. */
  readonly maxAgeMs: number;
  readonly clock: Clock;
}

/** Health answers within half a second; load, memory and disks need not be younger than 10 s. */
export const HOST_STATS_BOUNDS = { timeoutMs: 500, maxAgeMs: 10_000 } as const;

/**
 * Host statistics that never hold Health up: a read slower than `timeoutMs` answers with the
 * last statistics read (none yet: zeros), no second read starts while one still runs, and
 * none starts while the last is younger than `maxAgeMs`. A read statfs()es every local disk,
 * and a failing disk can take its time to answer. Health is called every few hundred
 * milliseconds by each API; load, memory and disks need not be fresher than this.
 */
export function boundedHostStats(source: HostStatsSource, bounds: HostStatsBounds): HostStatsSource {
  let last: HostStats = NO_STATS;
  let readAt = Number.NEGATIVE_INFINITY;
  let running: Promise<HostStats> | null = null;
  return {
    async read() {
      if (bounds.clock.now() - readAt < bounds.maxAgeMs) return last;
      running ??= source
        .read()
        .then((stats) => {
          readAt = bounds.clock.now();
          return (last = stats);
        })
        .finally(() => (running = null));
      return withinBound(running, bounds.timeoutMs, last);
    },
  };
}
