import { parseArgs } from "node:util";
import { serve } from "@hono/node-server";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import {
  ConfigError,
  createStreamLogger,
  lockstepVersion,
  resolveLogFormat,
  systemClock,
  type AgentTransport,
} from "@lockstep/shared";
import { randomUUID } from "node:crypto";
import os from "node:os";
import { agentDirectory } from "./agents/agent-directory.js";
import { createApp } from "./app.js";
import { tokenCommand } from "./auth/token-command.js";
import { TokenStore } from "./auth/token-store.js";
import { ApiMetrics } from "./metrics/api-metrics.js";
import { KeyStore } from "./idempotency/key-store.js";
import { Dispatcher } from "./dispatch/dispatcher.js";
import { JobStore } from "./dispatch/job-store.js";
import { AgentEventRelay } from "./incidents/agent-event-relay.js";
import { AlertBook } from "./alerts/alert-book.js";
import { logOnlyChannel, pagerDutyChannel, webhookChannel, type AlertChannel } from "./alerts/alert-channel.js";
import { NodeMonitor } from "./alerts/node-monitor.js";
import { Reconciler } from "./reconcile/reconciler.js";
import type { ApiConfig } from "./config/api-config.js";
import type { Logger } from "@lockstep/shared";
import { loadApiConfig } from "./config/api-config.js";
import { migrate } from "./db/migrate.js";
import { migrations } from "./db/migrations/index.js";
import { openDatabase } from "./db/database.js";
import { LeaseStore } from "./leases/lease-store.js";

async function main(): Promise<void> {
  if (process.argv[2] === "token") {
    process.exitCode = await tokenCommand(process.argv.slice(3), process.env, process.stdout);
    return;
  }
  await serveApi();
}

async function serveApi(): Promise<void> {
  const { values } = parseArgs({
    options: { listen: { type: "string" }, "log-format": { type: "string" }, version: { type: "boolean" } },
  });
  if (values.version) {
    process.stdout.write(`${lockstepVersion()}\n`);
    return;
  }
  const config = loadApiConfig({ listen: values.listen, logFormat: values["log-format"] }, process.env);
  const logger = createStreamLogger(process.stdout, {
    level: config.logging.level,
    format: resolveLogFormat(config.logging.format, process.stdout),
    bound: { service: "lockstep-api" },
  });
  const pool = openDatabase(config.databaseUrl, { connectionLimit: 20 });
  const owner = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const leases = new LeaseStore(pool, systemClock, owner);
  // Schema changes may run DDL on big tables: their connection has no statement timeout.
  const schema = openDatabase(config.databaseUrl, { connectionLimit: 2, statementTimeoutMs: null });
  await migrate(schema, migrations, logger, owner).finally(() => schema.end());
  const agents = agentDirectory(pool, config.agents.callTimeoutMs, agentTransport(config));
  if (config.agents.transport === "plaintext-loopback")
    logger.warn(
      "agents are reached over PLAINTEXT gRPC (agentTransport plaintext-loopback): loopback development only",
    );
  const metrics = new ApiMetrics(pool, {
    certificates:
      config.agents.transport === "mtls" ? { client: config.agents.tls.cert, ca: config.agents.tls.ca } : {},
  });
  const dispatcher = new Dispatcher({
    pool,
    agents,
    clock: systemClock,
    logger: logger.child({ component: "dispatcher" }),
    jobs: new JobStore(pool, systemClock, owner, config.jobs.leaseMs),
    vmids: config.vmids,
    options: {
      pollMs: config.jobs.pollMs,
      concurrency: config.jobs.concurrency,
      backoffBaseMs: config.jobs.backoffBaseMs,
      backoffMaxMs: config.jobs.backoffMaxMs,
      leaseMs: config.jobs.leaseMs,
      snapshotKeepLast: config.snapshotKeepLast,
      ports: config.ports,
      observer: metrics,
    },
  });
  const relay = new AgentEventRelay({
    pool,
    agents,
    clock: systemClock,
    logger: logger.child({ component: "event-relay" }),
  });
  const reconciler = new Reconciler({
    pool,
    agents,
    leases,
    clock: systemClock,
    logger: logger.child({ component: "reconciler" }),
    maxAttempts: config.jobs.maxAttempts,
    ports: config.ports,
    policy: {
      missing: config.reconcile.missing,
      orphans: config.reconcile.orphans,
      orphanGraceMs: config.reconcile.orphanGraceMs,
    },
    globalPolicy: config.policy,
  });
  const keys = new KeyStore(pool, systemClock, config.idempotency);
  // Keys past their retention are treated as new anyway; this keeps the table bounded.
  const sweeper = setInterval(
    () =>
      void leases
        .hold("purge/idempotency-keys", { ttlMs: 60_000, waitMs: 0 }, () => keys.purgeExpired())
        .catch((err: unknown) => logger.warn("purging expired idempotency keys failed", { err })),
    60_000,
  );
  sweeper.unref();
  const app = createApp(
    {
      pool,
      clock: systemClock,
      logger,
      idempotencyRetentionMs: config.idempotency.retentionMs,
      idempotencyAbandonedAfterMs: config.idempotency.abandonedAfterMs,
      vmids: config.vmids,
      ports: config.ports,
      maxAttempts: config.jobs.maxAttempts,
      snapshotKeepLast: config.snapshotKeepLast,
      policy: config.policy,
      afterCommit: () => {
        dispatcher.wake();
        relay.refreshSoon();
      },
      agents,
      reconciler,
      tokens: new TokenStore(pool, systemClock),
      metrics,
      limits: {
        maxBodyBytes: config.http.maxBodyBytes,
        ratePerSecond: config.http.ratePerSecond,
        rateBurst: config.http.rateBurst,
      },
    },
    keys,
  );
  const [host, port] = [
    config.http.listen.replace(/:\d+$/, "").replace(/^\[|\]$/g, ""),
    Number(config.http.listen.split(":").pop()),
  ];
  const server = serve(
    { fetch: app.fetch, hostname: host, port, serverOptions: { maxHeaderSize: config.http.maxHeaderBytes } },
    (info) => logger.info("api listening", { address: `${info.address}:${info.port}` }),
  );
  refuseMalformedRequests(server as Server);
  dispatcher.start();
  relay.start();
  const monitor = new NodeMonitor({
    pool,
    agents,
    alerts: new AlertBook(pool, alertChannel(config, logger), systemClock, logger.child({ component: "alerts" })),
    clock: systemClock,
    logger: logger.child({ component: "node-monitor" }),
    options: {
      intervalMs: config.health.intervalMs,
      unreachableAlertMs: config.health.unreachableAlertMs,
      probeTimeoutMs: config.health.probeTimeoutMs,
      onNodeBack: () => dispatcher.wake(),
    },
    leases,
  });
  monitor.start();
  reconciler.start(config.reconcile.intervalMs);
  const shutdown = (signal: string): void => {
    logger.info("shutting down", { signal });
    const force = setTimeout(() => process.exit(1), config.shutdownDrainMs).unref();
    relay.stop();
    monitor.stop();
    reconciler.stop();
    server.close(() => {
      void dispatcher.stop().then(() => {
        clearTimeout(force);
        agents.close();
        void pool.end().finally(() => process.exit(0));
      });
    });
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}

function agentTransport(config: ApiConfig): AgentTransport {
  if (config.agents.transport === "plaintext-loopback") return { mode: "plaintext-loopback" };
  return { mode: "mtls", tls: config.agents.tls };
}

/**
 * Requests Node's parser rejects before the app sees them (headers over maxHeaderBytes,
 * malformed HTTP) still get a problem document, and slow senders are cut off.
 */
function refuseMalformedRequests(server: Server<typeof IncomingMessage, typeof ServerResponse>): void {
  server.headersTimeout = 15_000;
  server.requestTimeout = 60_000;
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable) return socket.destroy();
    const [status, title, code, detail] =
      err.code === "HPE_HEADER_OVERFLOW"
        ? [431, "request header fields too large", "RESOURCE_EXHAUSTED", "request headers exceed maxHeaderBytes"]
        : [400, "bad request", "INVALID_ARGUMENT", "the request is not valid HTTP"];
    const body = JSON.stringify({
      type: `urn:lockstep:problem:${code.toLowerCase().replace(/_/g, "-")}`,
      title,
      status,
      detail,
      code,
    });
    socket.end(
      `HTTP/1.1 ${status} ${title}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
}

function alertChannel(config: ApiConfig, logger: Logger): AlertChannel {
  const { channel, webhookUrl, pagerduty } = config.alerts;
  if (channel === "webhook") return webhookChannel(webhookUrl);
  if (channel === "pagerduty") return pagerDutyChannel(pagerduty.routingKey, pagerduty.url);
  return logOnlyChannel(logger.child({ component: "alerts" }));
}

main().catch((err: unknown) => {
  const message =
    err instanceof ConfigError ? `configuration: ${err.message}` : err instanceof Error ? err.message : String(err);
  process.stderr.write(`lockstep-api: ${message}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
