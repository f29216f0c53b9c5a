import { mkdirSync } from "node:fs";
import path from "node:path";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import {
  agentServerCredentials,
  agentV1,
  ConfigError,
  healthV1,
  lockstepVersion,
  systemClock,
  type Clock,
  type Logger,
} from "@lockstep/shared";
import type { AgentConfig } from "../config/agent-config.js";
import { RequestDeduplicator, RequestStore, toOperationRecord } from "../dedup/index.js";
import { EventBus } from "../events/event-bus.js";
import type { Executor } from "../executor/executor.js";
import { SocketExecutor } from "../executor/socket-executor.js";
import { clientAllowlist } from "../grpc/client-allowlist.js";
import { OperationAdmission } from "../grpc/operation-admission.js";
import { AgentMetrics } from "../metrics/agent-metrics.js";
import { startMetricsServer } from "../metrics/metrics-server.js";
import { createHealthService } from "../grpc/health-service.js";
import { createNodeAgentService } from "../grpc/node-agent-service.js";
import { addReflection } from "../grpc/reflection.js";
import { boundedHostStats, HOST_STATS_BOUNDS } from "../health/bounded-host-stats.js";
import type { HostStatsSource } from "../health/host-stats.js";
import { ServingMonitor } from "../health/serving-monitor.js";
import { withinBound } from "../node/within-bound.js";
import { startNodeRuntime } from "./node-runtime.js";

/** A started agent. */
export interface RunningAgent {
  /** `host:port` actually bound (port 0 in the config picks a free one). */
  readonly address: string;
  readonly events: EventBus;
  /** Drains in-flight work (bounded), then closes everything. */
  stop(): Promise<void>;
}

export interface AgentDeps {
  readonly clock?: Clock;
  readonly hostStats?: HostStatsSource;
}

/** The node as this process reaches it, and how it lets go of it. */
interface NodeSide {
  readonly executor: Executor;
  /** In one process: the node runtime's drain and stop. Split: the socket closes; the executor's work goes on. */
  stop(drainMs: number): Promise<unknown>;
}

// How long a scrape waits for the health probe before it reports the probe's last answer:
// well within Prometheus's default 10 s scrape timeout.
const SCRAPE_HEALTH_WAIT_MS = 2_000;

const AGENT_VERSION = lockstepVersion();

/**
 * Boots the agent's network side: durable request records (interrupted ones reported), the
 * gRPC server with its TLS, metrics and events; and the node side, either in this process
 * (node-runtime.ts) or, with `executorSocket`, the root executor reached over its socket, so
 * that this process needs no privilege at all.
 *
 * Stopping: no new work; running operations get `shutdownDrainMs` to finish; then each is
 * given up. In one process that stops its `pct` the way Proxmox's CLI stops a task (SIGTERM,
 * forwarded to the task worker, whose error path cleans up; SIGKILL to pct's group after a
 * grace). Split, the executor finishes it and keeps the outcome for the retry.
 */
export async function startAgent(config: AgentConfig, logger: Logger, deps: AgentDeps = {}): Promise<RunningAgent> {
  const clock = deps.clock ?? systemClock;
  mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
  const events = new EventBus(logger.child({ component: "events" }));
  const metrics = new AgentMetrics(events);
  const store = await RequestStore.open({
    dir: path.join(config.stateDir, "requests"),
    retentionMs: config.requests.retentionMs,
    maxRecords: config.requests.maxRecords,
    clock,
    logger: logger.child({ component: "dedup" }),
  });
  const dedup = new RequestDeduplicator(store, logger.child({ component: "dedup" }));
  for (const record of dedup.interruptedAtStart) {
    events.publish({
      atMs: clock.now(),
      node: config.node,
      vmid: record.vmid ?? 0,
      kind: "operation-interrupted",
      detail: `${record.method} was running when the agent stopped; a retry with its request ID converges`,
      requestId: record.requestId,
    });
  }
  const nodeSide = await reachNode(config, logger, clock, deps);
  const { executor } = nodeSide;
  const serving = new ServingMonitor({
    probe: () => executor.read("ProbeNode", {}),
    intervalMs: config.health.intervalMs,
    clock,
    logger: logger.child({ component: "health" }),
  });
  const unobserve = executor.observe({
    event: (event) => events.relay(event),
    pct: (command, outcome, seconds) => metrics.observePct(command, outcome, seconds),
    clusterFs: (status) => serving.clusterFsChanged(status),
    reachable: (reachable, detail) => serving.executorReachable(reachable, detail),
  });
  // Probed once before listening, so the health service is right from its first answer; a
  // pct that hangs delays the start by the probe's bound at most.
  await withinBound(
    serving.probe().catch((err: unknown) => logger.warn("the node probe failed", { err })),
    config.health.probeTimeoutMs,
    undefined,
  );
  const admission = new OperationAdmission(config.node, config.operations.maxConcurrent);
  // Bounded again on this side of the executor: one slow to answer over its socket must not
  // hold Health either, and a young answer spares a round trip per Health call. In one
  // process it wraps the node runtime's own bound, at no cost.
  const hostStats = boundedHostStats(
    { read: () => executor.read("ReadHostStats", {}) },
    { ...HOST_STATS_BOUNDS, clock },
  );
  metrics.watchNode({
    node: config.node,
    version: AGENT_VERSION,
    running: () => admission.inUse,
    requestStore: () => ({
      records: store.stats.records,
      maxRecords: config.requests.maxRecords,
      quarantined: store.stats.quarantined,
    }),
    health: () => serving.probe(),
    healthWaitMs: SCRAPE_HEALTH_WAIT_MS,
    certificates: config.transport.kind === "mtls" ? { node: config.transport.cert, ca: config.transport.ca } : {},
  });
  const service = createNodeAgentService({
    node: config.node,
    clock,
    executor,
    logger,
    events,
    dedup,
    release: (requestId) => executor.release(requestId),
    hostStats,
    agentVersion: AGENT_VERSION,
    probe: () => serving.probe(),
    operations: {
      get: (id) => {
        const r = dedup.get(id);
        return r && toOperationRecord(r);
      },
    },
    admission,
    rpcs: metrics,
  });
  const server = new Server({
    "grpc.max_receive_message_length": config.transport.maxMessageBytes,
    "grpc.max_send_message_length": config.transport.maxMessageBytes,
    interceptors:
      config.transport.kind === "mtls" && config.transport.allowedClients.length > 0
        ? [clientAllowlist(config.transport.allowedClients, logger.child({ component: "tls" }))]
        : [],
  });
  server.addService(agentV1.NodeAgentService, service);
  server.addService(healthV1.HealthService, createHealthService(serving, logger.child({ component: "health" })));
  addReflection(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(config.transport.listen, serverCredentials(config), (err, p) => (err ? reject(err) : resolve(p))),
  ).catch((err: unknown) => {
    throw new ConfigError(
      `listen ${config.transport.listen} cannot be bound: ${err instanceof Error ? err.message : String(err)}`,
    );
  });
  const address = `${config.transport.listen.replace(/:\d+$/, "")}:${port}`;
  serving.start();
  const metricsServer = config.metricsListen ? await startMetricsServer(config.metricsListen, metrics.registry) : null;
  logger.info("agent listening", {
    address,
    metrics: metricsServer?.address ?? null,
    node: config.node,
    transport: config.transport.kind,
    executor: config.executor.socket || "in-process",
    pct: config.executor.socket ? null : config.paths.pct,
    simulate: config.simulate,
    version: AGENT_VERSION,
    policy: config.executor.socket ? null : config.policy,
  });

  return {
    address,
    events,
    stop: async () => {
      serving.stop();
      admission.drain();
      logger.info("draining in-flight requests", { inFlight: dedup.inFlightCount });
      const drained = await Promise.race([
        dedup.idle().then(() => true),
        clock.sleep(config.operations.shutdownDrainMs).then(() => false),
      ]);
      if (!drained) {
        // What is still running is recorded as interrupted and converges on retry.
        dedup.abortRunning();
        await dedup.idle();
      }
      // Mutating work has drained; what is left are reads and WatchEvents streams, which
      // never end on their own: give them a moment, then close them.
      await Promise.race([new Promise<void>((resolve) => server.tryShutdown(() => resolve())), clock.sleep(2_000)]);
      server.forceShutdown();
      unobserve();
      // Nothing is left running here: the node side's own drain has nothing to wait for.
      await nodeSide.stop(0);
      await metricsServer?.close();
      await store.close();
      logger.info("agent stopped", { drained });
    },
  };
}

/** The node side: the root executor's socket when one is configured, else this very process. */
async function reachNode(config: AgentConfig, logger: Logger, clock: Clock, deps: AgentDeps): Promise<NodeSide> {
  if (config.executor.socket) {
    const executor = SocketExecutor.connect({
      socket: config.executor.socket,
      // The executor bounds its probe by probeTimeoutMs; the margin is the socket's and the queue's.
      probeTimeoutMs: config.health.probeTimeoutMs + 2_000,
      maxMessageBytes: config.transport.maxMessageBytes,
      clock,
      logger: logger.child({ component: "executor" }),
    });
    // Started after the executor (the units are ordered so), the agent finds it at once; one that
    // is not there serves UNAVAILABLE until it is, and says so.
    if (!(await executor.whenConnected(config.health.probeTimeoutMs)))
      logger.warn("the node's executor is not reachable yet; calls fail UNAVAILABLE until it is", {
        socket: config.executor.socket,
      });
    return { executor, stop: () => executor.close() };
  }
  const runtime = await startNodeRuntime(config, logger, {
    clock,
    ...(deps.hostStats ? { hostStats: deps.hostStats } : {}),
  });
  return runtime;
}

/** Mutual TLS with the cluster CA; plaintext only where the configuration allowed it for loopback. */
function serverCredentials(config: AgentConfig): ServerCredentials {
  if (config.transport.kind === "plaintext-loopback") return ServerCredentials.createInsecure();
  return agentServerCredentials({ ca: config.transport.ca, cert: config.transport.cert, key: config.transport.key });
}
