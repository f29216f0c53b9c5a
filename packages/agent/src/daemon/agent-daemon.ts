import { mkdirSync, readdirSync, rmSync } from "node:fs";
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
import { OperationIntents } from "../dedup/operation-intents.js";
import { EventBus } from "../events/event-bus.js";
import { clientAllowlist } from "../grpc/client-allowlist.js";
import { OperationAdmission } from "../grpc/operation-admission.js";
import { AgentMetrics } from "../metrics/agent-metrics.js";
import { startMetricsServer } from "../metrics/metrics-server.js";
import { createHealthService } from "../grpc/health-service.js";
import { createNodeAgentService } from "../grpc/node-agent-service.js";
import { addReflection } from "../grpc/reflection.js";
import { boundedHostStats } from "../health/bounded-host-stats.js";
import { systemHostStats, type HostStatsSource } from "../health/host-stats.js";
import { probeNode } from "../health/node-probe.js";
import { ServingMonitor } from "../health/serving-monitor.js";
import { LockGuard } from "../locks/lock-guard.js";
import { LockInspector } from "../locks/lock-inspector.js";
import { createLockService } from "../grpc/lock-service.js";
import { LockWatcher } from "../locks/lock-watcher.js";
import { ClusterFs } from "../node/cluster-fs.js";
import { withinBound } from "../node/within-bound.js";
import type { NodeContext } from "../node/node-context.js";
import { ProcessPctRunner } from "../pct/process-pct-runner.js";
import { UnavailableError } from "../errors.js";
import { liveTaskWorkers, whenWorkersEnd } from "../pct/task-worker.js";
import { realProcReader, type ProcReader } from "../proc/proc-reader.js";
import { VmidSerializer } from "../serial/index.js";

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

// How often a task worker found at boot is checked for its end.
const TASK_POLL_MS = 1_000;

// How long Health waits for host statistics before it answers with the last ones read.
const HOST_STATS_TIMEOUT_MS = 500;
// How old host statistics may be before Health reads them again (each read starts processes).
const HOST_STATS_MAX_AGE_MS = 10_000;

// How long a scrape waits for the health probe before it reports the probe's last answer:
// well within Prometheus's default 10 s scrape timeout.
const SCRAPE_HEALTH_WAIT_MS = 2_000;

// Readers of /etc/pve killed while stuck in it that may linger before reads fail at once.
const MAX_STUCK_READERS = 4;

const AGENT_VERSION = lockstepVersion();

/**
 * Boots the agent: state directory, durable request records (interrupted ones reported),
 * Proxmox task workers still running (their VMIDs wait for them), lock inspection and
 * watching, then the gRPC server. Boot never touches a container: what a previous life left
 * half-done is reported, and converges when its request is retried.
 *
 * Stopping: no new work; running operations get `shutdownDrainMs` to finish; then each is
 * cancelled, which stops its `pct` the way Proxmox's CLI stops a task (SIGTERM, forwarded to
 * the task worker, whose error path cleans up; SIGKILL to pct's group after a grace). A
 * worker that lives on is left alone, and the next life waits for it (see the systemd unit).
 */
export async function startAgent(config: AgentConfig, logger: Logger, deps: AgentDeps = {}): Promise<RunningAgent> {
  const clock = deps.clock ?? systemClock;
  const stagingDir = prepareStateDir(config.stateDir);
  const paths = config.paths;
  const events = new EventBus(logger.child({ component: "events" }));
  const metrics = new AgentMetrics(events);
  const proc = realProcReader(config.paths.procRoot);
  // Made once the node context exists; a change before then is seen by its first probe.
  let serving: ServingMonitor | undefined;
  const clusterFs = new ClusterFs({
    pveDir: paths.pveDir,
    timeoutMs: config.health.clusterFsTimeoutMs,
    probeTimeoutMs: config.health.clusterFsProbeTimeoutMs,
    maxStuckReaders: MAX_STUCK_READERS,
    clock,
    logger: logger.child({ component: "cluster-fs" }),
    onChange: (status) => {
      serving?.clusterFsChanged(status);
      if (status.state !== "ok")
        events.publish({
          atMs: status.observedAtMs,
          node: config.node,
          vmid: 0,
          kind: "hypervisor-unresponsive",
          detail: `the cluster filesystem ${paths.pveDir} is ${status.state}: ${status.detail}`,
        });
    },
  });
  const pctProcesses = new ProcessPctRunner({
    pct: paths.pct,
    env: paths.pctEnv,
    defaultTimeoutMs: config.pct.timeouts.readMs,
    defaultMaxOutputBytes: config.limits.execOutputBytes,
    terminateGraceMs: config.pct.terminateGraceMs,
    proc,
    clock,
  });
  const pct = metrics.timed(pctProcesses);
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
  const serializer = new VmidSerializer();
  // Starts the prober and says at once whether /etc/pve can be trusted.
  const pveState = await clusterFs.probe();
  if (pveState.state !== "ok")
    logger.warn("the cluster filesystem is not trusted at start; nothing is changed until it is", {
      pveDir: paths.pveDir,
      ...pveState,
    });
  await holdVmidsOfRunningTasks(config, serializer, proc, clock, logger);
  const inspector = new LockInspector({
    node: config.node,
    paths,
    proc,
    clusterFs,
    clock,
    staleGraceMs: config.locks.staleGraceMs,
  });
  const guard = new LockGuard({
    node: config.node,
    inspector,
    clusterFs,
    pct,
    events,
    clock,
    logger: logger.child({ component: "locks" }),
    policy: {
      retries: config.locks.retries,
      backoffMs: config.locks.backoffMs,
      backoffMaxMs: config.locks.backoffMaxMs,
      unlockTimeoutMs: config.pct.timeouts.readMs,
    },
  });
  mkdirSync(config.paths.lockDir, { recursive: true });
  const watcher = new LockWatcher({
    node: config.node,
    dir: config.paths.lockDir,
    inspector,
    events,
    clock,
    logger: logger.child({ component: "lock-watcher" }),
  });
  await watcher.start();

  const intents = await OperationIntents.open(path.join(config.stateDir, "intents"));
  const ctx: NodeContext = {
    node: config.node,
    pct,
    gate: guard,
    events,
    clock,
    logger,
    lockRetries: config.locks.retries,
    paths,
    stagingDir,
    intents,
    proc,
    clusterFs,
    timeouts: config.pct.timeouts,
    verify: config.verify,
    limits: config.limits,
    policy: config.policy,
  };
  serving = new ServingMonitor({
    probe: () => probeNode(ctx, config.health.probeTimeoutMs),
    intervalMs: config.health.intervalMs,
    clock,
    logger: logger.child({ component: "health" }),
  });
  // Probed once before listening, so the health service is right from its first answer; a
  // pct that hangs delays the start by the probe's bound at most.
  await withinBound(
    serving.probe().catch((err: unknown) => logger.warn("the node probe failed", { err })),
    config.health.probeTimeoutMs,
    undefined,
  );
  const admission = new OperationAdmission(config.node, config.operations.maxConcurrent);
  const hostStats = boundedHostStats(deps.hostStats ?? systemHostStats(), {
    timeoutMs: HOST_STATS_TIMEOUT_MS,
    maxAgeMs: HOST_STATS_MAX_AGE_MS,
    clock,
  });
  // Read once now, so the first Health has statistics to fall back on if a read is slow.
  void hostStats
    .read()
    .catch((err: unknown) =>
      logger.warn("host statistics could not be read", { err: err instanceof Error ? err.message : String(err) }),
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
    ctx,
    logger,
    events,
    dedup,
    serializer,
    hostStats,
    agentVersion: AGENT_VERSION,
    probe: () => serving.probe(),
    locks: createLockService(inspector, guard, proc, clusterFs),
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
    pct: paths.pct,
    simulate: config.simulate,
    version: AGENT_VERSION,
    policy: config.policy,
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
      // Reads still waiting on pct (a hung /etc/pve) would outlive the agent otherwise.
      await pctProcesses.stopAll(new UnavailableError("the agent is stopping"));
      await metricsServer?.close();
      await watcher.stop();
      await clusterFs.close();
      await store.close();
      logger.info("agent stopped", { drained });
    },
  };
}

/**
 * Task workers that outlived a previous life of the agent (or that anyone else started) keep
 * their VMID: no create, destroy or snapshot runs on it until the worker has ended. A clone is
 * listed under its SOURCE VMID (its target carries `lock: create`); a multi-guest backup has
 * no VMID in its UPID and holds none here.
 */
async function holdVmidsOfRunningTasks(
  config: AgentConfig,
  serializer: VmidSerializer,
  proc: ProcReader,
  clock: Clock,
  logger: Logger,
): Promise<void> {
  for (const worker of await liveTaskWorkers(config.paths.tasksActive, proc)) {
    if (!/^[1-9][0-9]*$/.test(worker.id)) continue;
    logger.warn("a Proxmox task is running at start; its VMID waits for it", {
      vmid: Number(worker.id),
      upid: worker.upid,
    });
    serializer.hold(Number(worker.id), whenWorkersEnd(proc, [worker], clock, TASK_POLL_MS));
  }
}

/** Mutual TLS with the cluster CA; plaintext only where the configuration allowed it for loopback. */
function serverCredentials(config: AgentConfig): ServerCredentials {
  if (config.transport.kind === "plaintext-loopback") return ServerCredentials.createInsecure();
  return agentServerCredentials({ ca: config.transport.ca, cert: config.transport.cert, key: config.transport.key });
}

/** The state directory (0700) and a clean staging area for files waiting for `pct push`. */
function prepareStateDir(stateDir: string): string {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const staging = path.join(stateDir, "staging");
  mkdirSync(staging, { recursive: true, mode: 0o700 });
  for (const leftover of readdirSync(staging)) rmSync(path.join(staging, leftover), { force: true });
  return staging;
}
