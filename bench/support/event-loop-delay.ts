/** The agent's event-loop delay since the previous scrape, in milliseconds. */
export interface EventLoopDelay {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

// prom-client's collectDefaultMetrics samples with monitorEventLoopDelay at its default
// eventLoopMonitoringPrecision, 10 ms, and Node records the whole interval between two samples
// (an idle loop shows about 10 ms), so the delay is what exceeds it.
const SAMPLE_INTERVAL_MS = 10;

/**
 * Scrapes the agent's `/metrics`: prom-client's default `nodejs_eventloop_lag_*` gauges, less
 * the sampling interval. The histogram behind them is reset at every scrape, so each scrape
 * covers the time since the one before: scrape once before the work to start the window.
 * Nothing else may scrape this agent meanwhile.
 */
export async function scrapeEventLoopDelay(metricsUrl: string, prefix = "lockstep_agent_"): Promise<EventLoopDelay> {
  const res = await fetch(metricsUrl);
  if (!res.ok) throw new Error(`GET ${metricsUrl}: ${res.status}`);
  const text = await res.text();
  const gauge = (name: string): number => {
    const m = new RegExp(`^${prefix}nodejs_eventloop_lag_${name}_seconds (\\S+)$`, "m").exec(text);
    if (!m) throw new Error(`no ${prefix}nodejs_eventloop_lag_${name}_seconds in ${metricsUrl}`);
    return Math.max(0, Number(m[1]) * 1000 - SAMPLE_INTERVAL_MS);
  };
  return { p50: gauge("p50"), p99: gauge("p99"), max: gauge("max") };
}
