/** The agent's event-loop delay since the previous scrape, in milliseconds. */
export interface EventLoopDelay {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * Scrapes the agent's `/metrics`. prom-client's default `nodejs_eventloop_lag_*` gauges come
 * from `monitorEventLoopDelay` (10 ms resolution) and the histogram is reset at every scrape,
 * so each scrape covers the time since the one before: scrape once before the work to start
 * the window. Nothing else may scrape this agent meanwhile.
 */
export async function scrapeEventLoopDelay(metricsUrl: string, prefix = "lockstep_agent_"): Promise<EventLoopDelay> {
  const res = await fetch(metricsUrl);
  if (!res.ok) throw new Error(`GET ${metricsUrl}: ${res.status}`);
  const text = await res.text();
  const gauge = (name: string): number => {
    const m = new RegExp(`^${prefix}nodejs_eventloop_lag_${name}_seconds (\\S+)$`, "m").exec(text);
    if (!m) throw new Error(`no ${prefix}nodejs_eventloop_lag_${name}_seconds in ${metricsUrl}`);
    return Number(m[1]) * 1000;
  };
  return { p50: gauge("p50"), p99: gauge("p99"), max: gauge("max") };
}
