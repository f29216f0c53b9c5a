import { mkdirSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import type { Clock, Logger } from "@lockstep/shared";
import type { AgentConfig } from "../config/agent-config.js";
import { configuredClusterFs, configuredPctRunner } from "../config/configured-node-io.js";
import { OperationIntents } from "../dedup/operation-intents.js";
import { UnavailableError } from "../errors.js";
import { EventBus } from "../events/event-bus.js";
import { ExecutorObservers } from "../executor/executor-observers.js";
import { LocalExecutor } from "../executor/local-executor.js";
import { nodeMutations, nodeReads } from "../executor/node-operations.js";
import { createLockService } from "../grpc/lock-service.js";
import { boundedHostStats, HOST_STATS_BOUNDS } from "../health/bounded-host-stats.js";
import { systemHostStats, type HostStatsSource } from "../health/host-stats.js";
import { probeNode } from "../health/node-probe.js";
import { LockGuard } from "../locks/lock-guard.js";
import { LockInspector } from "../locks/lock-inspector.js";
import { LockWatcher } from "../locks/lock-watcher.js";
import { timedPctRunner } from "../metrics/timed-pct-runner.js";
import type { NodeContext } from "../node/node-context.js";
import { liveTaskWorkers, whenWorkersEnd } from "../pct/task-worker.js";
import { realProcReader, type ProcReader } from "../proc/proc-reader.js";
import { VmidSerializer } from "../serial/index.js";

/** The part of the agent that touches the node, started. */
export interface NodeRuntime {
  readonly executor: LocalExecutor;
  /** Lets running operations finish for at most `drainMs`, interrupts the rest, then closes everything. */
  stop(drainMs: number): Promise<{ drained: boolean }>;
}

// How often a task worker found at boot is checked for its end.
const TASK_POLL_MS = 1_000;
// Readers of /etc/pve killed while stuck in it that may linger before reads fail at once.
const MAX_STUCK_READERS = 4;
// How long an outcome nobody collected is kept: past any retry of a restarted network process.
const KEEP_OUTCOMES_MS = 60 * 60_000;

/**
 * Starts the node side: /etc/pve's watch, `pct`, lock inspection and watching, the Proxmox
 * task workers still running (their VMIDs wait for them), and the allow-listed operations
 * over them. It runs as root: in the agent's one process, or as the executor behind a socket.
 * Start never touches a container: what a previous life left half-done converges when its
 * request is retried.
 */
export async function startNodeRuntime(
  config: AgentConfig,
  logger: Logger,
  deps: { clock: Clock; hostStats?: HostStatsSource },
): Promise<NodeRuntime> {
  const { clock } = deps;
  const paths = config.paths;
  const stagingDir = prepareStagingDir(config.stateDir);
  const events = new EventBus(logger.child({ component: "events" }));
  const observers = new ExecutorObservers(events);
  const proc = realProcReader(paths.procRoot);
  const clusterFs = configuredClusterFs(config, {
    maxStuckReaders: MAX_STUCK_READERS,
    clock,
    logger: logger.child({ component: "cluster-fs" }),
    onChange: (status) => {
      observers.clusterFs(status);
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
  const pctProcesses = configuredPctRunner(config, clock, proc);
  const pct = timedPctRunner(pctProcesses, observers);
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
  mkdirSync(paths.lockDir, { recursive: true });
  const watcher = new LockWatcher({
    node: config.node,
    dir: paths.lockDir,
    inspector,
    events,
    clock,
    logger: logger.child({ component: "lock-watcher" }),
  });
  await watcher.start();
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
    intents: await OperationIntents.open(path.join(config.stateDir, "intents")),
    proc,
    clusterFs,
    timeouts: config.pct.timeouts,
    verify: config.verify,
    limits: config.limits,
    policy: config.policy,
  };
  // Bounded where the disks are read: a hung statfs() holds one read, never a pile of them.
  const hostStats = boundedHostStats(deps.hostStats ?? systemHostStats(), { ...HOST_STATS_BOUNDS, clock });
  // Read once now, so the first Health has statistics to fall back on if a read is slow.
  void hostStats
    .read()
    .catch((err: unknown) =>
      logger.warn("host statistics could not be read", { err: err instanceof Error ? err.message : String(err) }),
    );
  const operationDeps = {
    ctx,
    locks: createLockService(inspector, guard, proc, clusterFs),
    hostStats,
    probe: () => probeNode(ctx, config.health.probeTimeoutMs),
  };
  const executor = new LocalExecutor({
    reads: nodeReads(operationDeps),
    mutations: nodeMutations(operationDeps),
    serializer,
    observers,
    clock,
    keepOutcomesMs: KEEP_OUTCOMES_MS,
    maxRunning: config.operations.maxConcurrent,
  });
  return {
    executor,
    stop: async (drainMs) => {
      executor.drain();
      const drained = await Promise.race([executor.idle().then(() => true), clock.sleep(drainMs).then(() => false)]);
      if (!drained) {
        executor.abortRunning();
        await executor.idle();
      }
      // Reads still waiting on pct (a hung /etc/pve) would outlive the process otherwise.
      await pctProcesses.stopAll(new UnavailableError("the agent is stopping"));
      await watcher.stop();
      await clusterFs.close();
      return { drained };
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

/** The state directory (0700) and a clean staging area for files waiting for `pct push`. */
function prepareStagingDir(stateDir: string): string {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const staging = path.join(stateDir, "staging");
  mkdirSync(staging, { recursive: true, mode: 0o700 });
  for (const leftover of readdirSync(staging)) rmSync(path.join(staging, leftover), { force: true });
  return staging;
}
