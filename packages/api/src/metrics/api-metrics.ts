import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { Pool, RowDataPacket } from "mysql2/promise";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * The API's Prometheus metrics. Request figures are counted as requests pass; job, drift
 * and alert figures are read from MySQL at scrape time, so every API process reports the
 * cluster's truth rather than only what it handled itself.
 */
export class ApiMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({ name: "lockstep_http_requests_total", help: "HTTP requests by method, route pattern and status", labelNames: ["method", "route", "status"], registers: [this.registry] });
  private readonly latency = new Histogram({
    name: "lockstep_http_request_duration_seconds", help: "HTTP request latency by method and route pattern", labelNames: ["method", "route"],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [this.registry],
  });

  constructor(pool: Pool) {
    collectDefaultMetrics({ register: this.registry, prefix: "lockstep_api_" });
    databaseGauge(this.registry, pool, "lockstep_jobs", "Operations by kind and state", ["kind", "state"], "SELECT kind, status AS state, COUNT(*) AS n FROM operations GROUP BY kind, status");
    databaseGauge(this.registry, pool, "lockstep_job_retries", "Attempts beyond the first, summed over operations by kind", ["kind"], "SELECT kind, COALESCE(SUM(GREATEST(CAST(attempts AS SIGNED) - 1, 0)), 0) AS n FROM operations GROUP BY kind");
    databaseGauge(this.registry, pool, "lockstep_drift_findings_open", "Open reconcile findings by node and kind", ["node", "kind"], "SELECT node, kind, COUNT(*) AS n FROM drift_findings WHERE resolved_at IS NULL GROUP BY node, kind");
    databaseGauge(this.registry, pool, "lockstep_alerts_open", "Open alerts by node and kind", ["node", "kind"], "SELECT node, kind, COUNT(*) AS n FROM alerts WHERE state = 'open' GROUP BY node, kind");
  }

  /** Counts each request under its route pattern (never its raw path: IDs would explode the label set). */
  middleware(): MiddlewareHandler {
    return async (c, next) => {
      const started = process.hrtime.bigint();
      try {
        await next();
      } finally {
        const route = routePath(c, -1);
        this.requests.inc({ method: c.req.method, route, status: String(c.res.status) });
        this.latency.observe({ method: c.req.method, route }, Number(process.hrtime.bigint() - started) / 1e9);
      }
    };
  }
}

function databaseGauge(registry: Registry, pool: Pool, name: string, help: string, labelNames: string[], sql: string): void {
  new Gauge({
    name, help, labelNames, registers: [registry],
    async collect() {
      const [rows] = await pool.query<RowDataPacket[]>(sql);
      this.reset();
      for (const row of rows) this.set(Object.fromEntries(labelNames.map((label) => [label, String(row[label])])), Number(row.n));
    },
  });
}
