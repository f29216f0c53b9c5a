/** The CPU time counters of /proc/stat's aggregate `cpu` line, in clock ticks. */
export interface CpuTimes {
  readonly busy: number;
  readonly total: number;
}

/**
 * The aggregate line of /proc/stat: `cpu user nice system idle iowait irq softirq steal ...`
 * (proc(5)). Idle and iowait are time not spent working; guest time is already counted in user
 * and nice, so it is not added again.
 */
export function parseCpuTimes(procStat: string): CpuTimes {
  const line = procStat.split("\n").find((l) => l.startsWith("cpu "));
  const fields = line?.trim().split(/\s+/).slice(1, 9).map(Number);
  if (!fields || fields.length < 4 || fields.some((n) => !Number.isFinite(n)))
    throw new Error(`/proc/stat has no aggregate cpu line: ${JSON.stringify(procStat.slice(0, 80))}`);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = fields[3]! + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/** Percent of CPU time spent working between two readings (since boot when there is no earlier one). */
export function cpuPercent(earlier: CpuTimes | null, later: CpuTimes): number {
  const busy = later.busy - (earlier?.busy ?? 0);
  const total = later.total - (earlier?.total ?? 0);
  if (total <= 0) return 0;
  return Math.round((busy / total) * 1000) / 10;
}
