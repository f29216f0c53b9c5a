import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { RowDataPacket } from "mysql2/promise";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { certificateExpirySeconds } from "@lockstep/shared";
import type { Database } from "../db/database.js";

export interface ApiMetricsOptions {
  /** PEM files whose expiry is exported, by the `certificate` label (the agents' client certificate and CA). */
  readonly certificates?: Readonly<Record<string, string>>;
}

/**
 * The API's Prometheus metrics. Request figures are counted as requests pass, and failed
 * jobs as this process fails them; job, drift, node and alert figures are read from MySQL at
 * scrape time, so every API process reports the cluster's truth rather than only what it
 * handled itself.
 */
export class ApiMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: "lockstep_http_requests_total",
    help: "HTTP requests by method, route pattern and status",
    labelNames: ["method", "route", "status"],
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: "lockstep_http_request_duration_seconds",
    help: "HTTP request latency by method and route pattern",
    labelNames: ["method", "route"],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  private readonly jobsFailed = new Counter({
    name: "lockstep_jobs_failed_total",
    help: "Jobs this API process marked failed for good (attempts exhausted or an error no retry mends), by kind and reason code",
    labelNames: ["kind", "code"],
    registers: [this.registry],
  });

  constructor(pool: Database, options: ApiMetricsOptions = {}) {
    collectDefaultMetrics({ register: this.registry, prefix: "lockstep_api_" });
    databaseGauge(
      this.registry,
      pool,
      "lockstep_jobs",
      "Operations by kind and state",
      ["kind", "state"],
      "SELECT kind, status AS state, COUNT(*) AS n FROM operations GROUP BY kind, status",
    );
    databaseGauge(
      this.registry,
      pool,
      "lockstep_job_retries",
      "Attempts beyond the first, summed over operations by kind",
      ["kind"],
      "SELECT kind, COALESCE(SUM(GREATEST(CAST(attempts AS SIGNED) - 1, 0)), 0) AS n FROM operations GROUP BY kind",
    );
    databaseGauge(
      this.registry,
      pool,
      "lockstep_drift_findings_open",
      "Open reconcile findings by node and kind",
      ["node", "kind"],
      "SELECT node, kind, COUNT(*) AS n FROM drift_findings WHERE resolved_at IS NULL GROUP BY node, kind",
    );
    databaseGauge(
      this.registry,
      pool,
      "lockstep_drift_oldest_open_timestamp_seconds",
      "When the oldest open reconcile finding of each node and kind was first seen (time() minus this is its age)",
      ["node", "kind"],
      "SELECT node, kind, MIN(first_seen_at) AS n FROM drift_findings WHERE resolved_at IS NULL GROUP BY node, kind",
    );
    databaseGauge(
      this.registry,
      pool,
      "lockstep_alerts_open",
      "Open alerts by node and kind",
      ["node", "kind"],
      "SELECT node, kind, COUNT(*) AS n FROM alerts WHERE state = 'open' GROUP BY node, kind",
    );
    databaseGauge(
      this.registry,
      pool,
      "lockstep_node_maintenance",
      "1 while a registered node is in maintenance (no job starts on it, nothing there is repaired), else 0",
      ["node"],
      "SELECT name AS node, maintenance_since IS NOT NULL AS n FROM nodes",
    );
    certificateGauge(this.registry, options.certificates ?? {});
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

  /** A job marked failed for good (the dispatcher's JobObserver). */
  failed(kind: string, code: string): void {
    this.jobsFailed.inc({ kind, code });
  }
}

/** A gauge read by one query at scrape time: a row per series, its labels by name and its value `n` (a date as seconds since the epoch). */
function databaseGauge(
  registry: Registry,
  pool: Database,
  name: string,
  help: string,
  labelNames: string[],
  sql: string,
): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      const [rows] = await pool.query<RowDataPacket[]>(sql);
      this.reset();
      for (const row of rows)
        this.set(
          Object.fromEntries(labelNames.map((label) => [label, String(row[label])])),
          row.n instanceof Date ? row.n.getTime() / 1000 : Number(row.n),
        );
    },
  });
}

/** The certificates the process loaded at start, read once: a renewed file is in use only after a restart, and so is its expiry. */
function certificateGauge(registry: Registry, files: Readonly<Record<string, string>>): void {
  const gauge = new Gauge({
    name: "lockstep_api_tls_certificate_expiry_timestamp_seconds",
    help: "When each certificate the API presents to or expects from agents expires (notAfter), by certificate (client, ca)",
    labelNames: ["certificate"],
    registers: [registry],
  });
  for (const [certificate, file] of Object.entries(files)) gauge.set({ certificate }, certificateExpirySeconds(file));
}
