import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { RowDataPacket } from "mysql2/promise";
import { post } from "../support/cluster.js";
import { placeBystanders } from "./bystanders.js";
import { FaultInjector } from "./fault-injector.js";
import { onInterrupt } from "./interrupt.js";
import { checkInvariants, type InvariantResult } from "./invariants.js";
import { accountJobs } from "./job-accounting.js";
import { nodeCalls, nodeContainers } from "./node-truth.js";
import { DATABASE_FAULTS, type ScenarioDatabase } from "./scenario-database.js";
import { ScenarioCluster } from "./scenario-cluster.js";
import { planFaults, planRequests, type PlannedRequest } from "./scenario-plan.js";
import { SeededRandom } from "./seeded-random.js";
import { WorkloadClient, type LedgerEntry } from "./workload-client.js";

export interface ScenarioOptions {
  readonly seed: number;
  readonly requests: number;
  readonly faults: number;
  readonly phaseMs: number;
  readonly nodes: number;
  readonly apiProcesses: number;
  readonly log: (line: string) => void;
}

export interface ScenarioReport {
  readonly seed: number;
  readonly results: InvariantResult[];
  readonly passed: boolean;
  readonly seconds: number;
  /** The host's highest 1-minute load average during the run: a pct timeout on a host loaded past its CPUs is no fault's. */
  readonly peakLoad: number;
  /** Where a failed seed's evidence was kept: every process's log and each node's root. */
  readonly evidence?: string;
}

// How long, after the faults stop, the system has to finish every job and close every alert.
const SETTLE_MS = 180_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One seed: a seeded workload and seeded faults against a fresh cluster, then, with the
 * faults stopped and everything back up, a settled system whose invariants are checked.
 */
export async function runScenario(database: ScenarioDatabase, options: ScenarioOptions): Promise<ScenarioReport> {
  const started = Date.now();
  const nodes = Array.from({ length: options.nodes }, (_, i) => `pve${i + 1}`);
  const requests = planRequests(new SeededRandom(options.seed), options.seed, options.requests, options.phaseMs, nodes);
  const cluster = await ScenarioCluster.start(database, nodes, options.apiProcesses);
  const forgetCluster = onInterrupt(() => cluster.stop());
  let forgetInjector = (): void => undefined;
  let evidenceKept = false;
  let peakLoad = os.loadavg()[0]!;
  const loadSampler = setInterval(() => (peakLoad = Math.max(peakLoad, os.loadavg()[0]!)), 1000);
  try {
    if (!cluster.pmxcfs.available)
      options.log(
        `  no FUSE here (${cluster.pmxcfs.unavailable}): the nodes run on plain directories, without the pmxcfs faults`,
      );
    const faults = planFaults(
      new SeededRandom(options.seed ^ 0x5bd1e995),
      options.faults,
      options.phaseMs,
      nodes,
      options.apiProcesses,
      cluster.pmxcfs.available,
      DATABASE_FAULTS[database.kind],
    );
    const bystanders = await placeBystanders(cluster.envs, cluster.clusterDir);
    const phaseStart = Date.now();
    const deadline = phaseStart + options.phaseMs + SETTLE_MS;
    const client = new WorkloadClient(
      () => cluster.liveApis(),
      () => deadline,
    );
    const injector = new FaultInjector(cluster, options.log, () => lastingRecords(requests, client.ledger));
    forgetInjector = onInterrupt(() => injector.restoreAll());
    const workload = Promise.all(
      requests.map(async (request) => {
        await sleep(phaseStart + request.at - Date.now());
        await client.run(request);
      }),
    );
    await injector.run(faults, phaseStart);
    await injector.restoreAll();
    options.log(`  faults over after ${((Date.now() - phaseStart) / 1000).toFixed(1)} s; settling`);
    await workload;
    await settle(cluster, options.seed, deadline);
    const results = await checkInvariants({
      pool: cluster.pool,
      ledger: [...client.ledger.values()].sort((a, b) => a.request.n - b.request.n),
      containers: nodes.flatMap((node) => nodeContainers(node, cluster.roots.get(node)!, cluster.clusterDir)),
      jobs: accountJobs(cluster.roots),
      faults: injector.injected,
      crashes: cluster.crashes,
      bystanders,
      calls: nodeCalls(cluster.roots),
      clusterDir: cluster.clusterDir,
      deleteRequested: deleteRequested(client.ledger),
    });
    const passed = results.every((r) => r.violations.length === 0);
    const evidence = passed ? undefined : keepEvidence(cluster, options.seed);
    evidenceKept = evidence !== undefined;
    return {
      seed: options.seed,
      results,
      passed,
      seconds: (Date.now() - started) / 1000,
      peakLoad,
      ...(evidence ? { evidence } : {}),
    };
  } catch (err) {
    // The run itself broke (a fault that could not be undone, say): a failed seed with its
    // evidence, and the next seed still runs.
    const broken = {
      name: "the run went through",
      figures: "it did not",
      violations: [err instanceof Error ? (err.stack ?? err.message) : String(err)],
    };
    evidenceKept = true;
    return {
      seed: options.seed,
      results: [broken],
      passed: false,
      seconds: (Date.now() - started) / 1000,
      peakLoad,
      evidence: keepEvidence(cluster, options.seed),
    };
  } finally {
    clearInterval(loadSampler);
    forgetInjector();
    await cluster.stop();
    forgetCluster();
    // A passed seed leaves nothing behind; a failed one's evidence names the node roots in here.
    if (!evidenceKept) rmSync(cluster.filesDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
}

/** The records the workload made (their create answered with an ID) and has no delete planned for. */
function lastingRecords(requests: readonly PlannedRequest[], ledger: ReadonlyMap<number, LedgerEntry>): Set<string> {
  const doomed = new Set(requests.flatMap((r) => (r.kind === "delete" ? [r.target] : [])));
  return new Set(
    requests.flatMap((r) => {
      const id = r.kind === "create" && !doomed.has(r.n) ? ledger.get(r.n)?.answer?.id : undefined;
      return id ? [id] : [];
    }),
  );
}

/** The records whose delete the client sent, answered or not (a delete skipped was never sent). */
function deleteRequested(ledger: ReadonlyMap<number, LedgerEntry>): Set<string> {
  return new Set(
    [...ledger.values()].flatMap((e) => {
      const id = e.request.kind === "delete" && !e.skipped ? ledger.get(e.request.target)?.answer?.id : undefined;
      return id ? [id] : [];
    }),
  );
}

/**
 * A failed seed's logs, kept for whoever reads the failure: each process's output (in start
 * order) and the path of each node's simulated root (its `pct` call log, task logs, configs).
 */
function keepEvidence(cluster: ScenarioCluster, seed: number): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `lockstep-faults-seed-${seed}-`));
  cluster.started.forEach((p, i) =>
    writeFileSync(
      path.join(dir, `${String(i).padStart(2, "0")}-${p.name.replace(/[^a-z0-9#]+/gi, "-")}.log`),
      p.logs(),
    ),
  );
  writeFileSync(
    path.join(dir, "nodes.txt"),
    [...[...cluster.roots].map(([node, root]) => `${node} ${root}`), `cluster ${cluster.clusterDir}`].join("\n") + "\n",
  );
  return dir;
}

/** Every job finished, reconcile passes until one finds nothing, every alert closed. */
async function settle(cluster: ScenarioCluster, seed: number, deadline: number): Promise<void> {
  await until(
    deadline,
    async () =>
      (await count(cluster, "SELECT COUNT(*) AS n FROM operations WHERE status IN ('queued', 'running')")) === 0,
  );
  for (let pass = 0; pass < 3; pass++) {
    const res = await post(cluster.liveApis()[0]!, "/v1/reconcile", {}, `faults-${seed}-settle-${pass}`);
    const findings = ((await res.json()) as { nodes?: { findings: number }[] }).nodes?.reduce(
      (n, x) => n + x.findings,
      0,
    );
    await until(
      deadline,
      async () =>
        (await count(cluster, "SELECT COUNT(*) AS n FROM operations WHERE status IN ('queued', 'running')")) === 0,
    );
    if (findings === 0) break;
  }
  await until(
    Math.min(deadline, Date.now() + 30_000),
    async () => (await count(cluster, "SELECT COUNT(*) AS n FROM alerts WHERE state = 'open'")) === 0,
  );
}

async function count(cluster: ScenarioCluster, sql: string): Promise<number> {
  const [rows] = await cluster.pool.query<RowDataPacket[]>(sql);
  return Number(rows[0]!.n);
}

async function until(deadline: number, done: () => Promise<boolean>): Promise<void> {
  while (Date.now() < deadline) {
    if (await done().catch(() => false)) return;
    await sleep(250);
  }
}
