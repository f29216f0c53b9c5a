import { randomBytes } from "node:crypto";
import type { ChildProcess } from "node:child_process";
import { appendFileSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createSimCluster, liveTaskWorkers } from "@lockstep/sim";
import { startAgentOnSim, type AgentUnderTest } from "../../packages/agent/test/integration/agent-harness.js";
import { openDatabase, type Database } from "../../packages/api/src/db/database.js";
import { post, startApi, type ApiUnderTest } from "../support/cluster.js";
import { ClusterPmxcfs, type NodeEnv } from "./cluster-pmxcfs.js";
import { agentPlacement, apiPlacement, serverUrlOf, type ScenarioDatabase } from "./scenario-database.js";
import { WORKLOAD_STORAGE } from "./scenario-plan.js";

// What a PVE install on ZFS adds to storage.cfg (pve-manager's installer): `local-zfs`. Only
// a zfspool volume with snapshots can be migrated (LXC/Migrate.pm phase1), and every
// container Lockstep made has its snapshot.
const ZFS_STORAGE = `zfspool: ${WORKLOAD_STORAGE}\n\tpool rpool/data\n\tsparse 1\n\tcontent images,rootdir\n\n`;

const running = (p: ChildProcess): boolean => p.exitCode === null && p.signalCode === null;

// Short timeouts so that a hung `pct` or a dead process is noticed within the run.
const AGENT_ENV = {
  LOCKSTEP_AGENT_PCT_CREATE_TIMEOUT_MS: "6000",
  LOCKSTEP_AGENT_PCT_DESTROY_TIMEOUT_MS: "6000",
  LOCKSTEP_AGENT_PCT_POWER_TIMEOUT_MS: "6000",
  LOCKSTEP_AGENT_PCT_SNAPSHOT_TIMEOUT_MS: "6000",
  LOCKSTEP_AGENT_PCT_PUSH_TIMEOUT_MS: "6000",
  LOCKSTEP_AGENT_PCT_READ_TIMEOUT_MS: "6000",
  // pct gets 2 s after its SIGTERM before its group is killed (7 s by default).
  LOCKSTEP_AGENT_PCT_TERMINATE_GRACE_MS: "2000",
  // A lock nothing can own is STALE after 3 s here (30 s by default), so a crash's leftover on a
  // Lockstep container is cleared within the run.
  LOCKSTEP_AGENT_LOCK_STALE_GRACE_MS: "3000",
  LOCKSTEP_SIM_LOCK_TIMEOUT_S: "3",
  // pmxcfs is a Python FUSE server here, on two loaded CPUs: an lstat of /etc/pve/local can
  // take more than the 500 ms default without pmxcfs being hung. A pause lasts longer than this.
  LOCKSTEP_AGENT_CLUSTER_FS_PROBE_TIMEOUT_MS: "2500",
};

const API_ENV = {
  LOCKSTEP_API_JOB_MAX_ATTEMPTS: "100",
  LOCKSTEP_API_JOB_LEASE_MS: "3000",
  LOCKSTEP_API_AGENT_CALL_TIMEOUT_MS: "15000",
  LOCKSTEP_API_HEALTH_INTERVAL_MS: "500",
  // Under the load of the whole suite on two CPUs a health probe can take a second or two.
  LOCKSTEP_API_HEALTH_PROBE_TIMEOUT_MS: "4000",
  LOCKSTEP_API_UNREACHABLE_ALERT_MS: "2000",
  LOCKSTEP_API_RECONCILE_INTERVAL_MS: "4000",
  LOCKSTEP_API_IDEMPOTENCY_ABANDONED_AFTER_MS: "5000",
};

/**
 * The system under test for one seed: a simulated cluster of nodes (one cluster directory,
 * each node's /etc/pve served by a pmxcfs FUSE mount when the machine has FUSE), an agent on
 * each node, API processes, all on a fresh database of the scenario's MariaDB. Processes can
 * be killed and brought back; a restarted agent keeps its address, as under systemd.
 */
export class ScenarioCluster {
  readonly agents = new Map<string, AgentUnderTest | null>();
  readonly paused = new Set<string>();
  readonly apis: (ApiUnderTest | null)[] = [];
  readonly roots = new Map<string, string>();
  private readonly last = new Map<string, AgentUnderTest>();
  /** Processes that exited without being killed: a crash is a broken promise of its own. */
  readonly crashes: string[] = [];
  private readonly killing = new Set<ChildProcess>();
  private readonly executorRestarts = new Map<string, Promise<void>>();
  /** Every process started, in order, with its output: the evidence a failed seed keeps. */
  readonly started: { readonly name: string; logs(): string }[] = [];

  private constructor(
    readonly database: ScenarioDatabase,
    readonly databaseUrl: string,
    readonly pool: Database,
    /** Every node's root and the cluster directory: what a failed seed's evidence points into. */
    readonly filesDir: string,
    /** The shared cluster directory (LOCKSTEP_SIM_CLUSTER): what every node's pmxcfs serves. */
    readonly clusterDir: string,
    /** Each node's LOCKSTEP_SIM_ROOT, _NODE and _CLUSTER, for the operator's own commands. */
    readonly envs: ReadonlyMap<string, NodeEnv>,
    readonly pmxcfs: ClusterPmxcfs,
  ) {}

  static async start(
    database: ScenarioDatabase,
    nodes: readonly string[],
    apiProcesses: number,
  ): Promise<ScenarioCluster> {
    const url = new URL(serverUrlOf(database));
    url.pathname = `/lockstep_faults_${randomBytes(4).toString("hex")}`;
    const admin = openDatabase(serverUrlOf(database), { connectionLimit: 1 });
    await admin.query(`CREATE DATABASE \`${url.pathname.slice(1)}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    await admin.end();
    const base = mkdtempSync(path.join(os.tmpdir(), "lockstep-faults-cluster-"));
    const sim = createSimCluster({ nodes, base });
    appendFileSync(path.join(sim.dir, "storage.cfg"), ZFS_STORAGE);
    const envs = new Map(sim.nodes.map((n) => [n.name, n.env]));
    // Mounted before any agent starts, so that each agent only ever sees pmxcfs at /etc/pve.
    const pmxcfs = await ClusterPmxcfs.mountAll(envs);
    const cluster = new ScenarioCluster(
      database,
      url.toString(),
      openDatabase(url.toString()),
      base,
      sim.dir,
      envs,
      pmxcfs,
    );
    try {
      for (const node of sim.nodes) {
        // The agent lays its node out and joins the cluster at start (already done here: it finds both).
        const placed = agentPlacement(database, node.name);
        const env = {
          LOCKSTEP_AGENT_NODE: node.name,
          LOCKSTEP_SIM_NODE: node.name,
          LOCKSTEP_SIM_CLUSTER: sim.dir,
          ...AGENT_ENV,
        };
        const agent = cluster.watch(
          `agent ${node.name}`,
          await startAgentOnSim(env, node.root, {
            listen: `${placed?.host ?? "127.0.0.1"}:0`,
            ...(placed?.wrap ? { wrap: placed.wrap } : {}),
            // As the package runs it: the network side and the root executor, each killed on its own.
            split: true,
          }),
        );
        cluster.watch(`executor ${node.name}`, agent.executor!);
        cluster.agents.set(node.name, agent);
        cluster.last.set(node.name, agent);
        cluster.roots.set(node.name, node.root);
      }
      for (let i = 0; i < apiProcesses; i++)
        cluster.apis.push(
          cluster.watch(`api#${i}`, await startApi(cluster.databaseUrl, API_ENV, apiPlacement(database, i))),
        );
      for (const [node, agent] of cluster.agents) {
        const res = await post(
          cluster.apis[0]!,
          "/v1/nodes",
          { name: node, address: agent!.client.target },
          `register-${node}`,
        );
        if (res.status !== 201) throw new Error(`registering ${node}: ${res.status} ${await res.text()}`);
      }
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  private watch<T extends { process: ChildProcess; logs(): string }>(name: string, started: T): T {
    this.started.push({ name, logs: () => started.logs() });
    started.process.once("exit", (code, signal) => {
      if (this.killing.has(started.process)) return;
      this.crashes.push(
        `${name} exited by itself (${signal ?? `exit ${code}`}); its last lines:\n${started.logs().trim().split("\n").slice(-8).join("\n")}`,
      );
    });
    return started;
  }

  get nodes(): string[] {
    return [...this.roots.keys()];
  }

  liveApis(): ApiUnderTest[] {
    return this.apis.filter((api): api is ApiUnderTest => api !== null && running(api.process));
  }

  /** Agents' network sides, their executors and APIs that are down (killed, or exited by themselves), as systemd would see them. */
  downAgents(): string[] {
    return this.nodes.filter((node) => !this.agents.get(node) || !running(this.agents.get(node)!.process));
  }

  downExecutors(): string[] {
    return this.nodes.filter((node) => !running(this.last.get(node)!.executor!.process));
  }

  downApis(): number[] {
    return this.apis.flatMap((api, i) => (api && running(api.process) ? [] : [i]));
  }

  /** The agent's network side (gRPC, request records) killed; its executor and their pct go on. */
  async killAgent(node: string): Promise<void> {
    this.paused.delete(node);
    const agent = this.agents.get(node);
    if (agent) this.killing.add(agent.process);
    await agent?.stopNetworkSide("SIGKILL");
    this.agents.set(node, null);
  }

  /** The network side alone, as systemd restarts its unit: its executor is restarted (or not) on its own. */
  async restartAgent(node: string): Promise<void> {
    const agent = this.watch(`agent ${node}`, await this.last.get(node)!.restartNetworkSide());
    this.agents.set(node, agent);
    this.last.set(node, agent);
  }

  /** The agent's root executor killed: the calls it was answering fail, its pct calls live on. */
  async killExecutor(node: string): Promise<void> {
    const executor = this.last.get(node)!.executor!;
    this.killing.add(executor.process);
    await executor.stop("SIGKILL");
  }

  /** Once per node at a time, and only while it is down: two faults may both find it down. */
  restartExecutor(node: string): Promise<void> {
    const started = (this.executorRestarts.get(node) ?? Promise.resolve()).then(async () => {
      const agent = this.last.get(node)!;
      if (running(agent.executor!.process)) return;
      this.watch(`executor ${node}`, await agent.restartExecutor());
    });
    this.executorRestarts.set(
      node,
      started.catch(() => undefined),
    );
    return started;
  }

  /** SIGSTOP: the agent's port still accepts connections, but nothing answers. */
  pauseAgent(node: string): void {
    const agent = this.agents.get(node);
    if (!agent || this.paused.has(node)) return;
    agent.process.kill("SIGSTOP");
    this.paused.add(node);
  }

  resumeAgent(node: string): void {
    if (!this.paused.delete(node)) return;
    this.agents.get(node)?.process.kill("SIGCONT");
  }

  async killApi(index: number): Promise<void> {
    const api = this.apis[index];
    if (api) this.killing.add(api.process);
    await api?.stop("SIGKILL");
    this.apis[index] = null;
  }

  async startApi(index: number): Promise<void> {
    this.apis[index] = this.watch(
      `api#${index}`,
      await startApi(this.databaseUrl, API_ENV, apiPlacement(this.database, index)),
    );
  }

  /** Stops every process, then resumes and unmounts every pmxcfs, even when a stop failed. */
  async stop(): Promise<void> {
    try {
      for (const node of [...this.paused]) this.resumeAgent(node);
      for (const p of [...this.liveApis(), ...this.agents.values()]) if (p) this.killing.add(p.process);
      for (const agent of this.last.values()) this.killing.add(agent.executor!.process);
      await Promise.all(this.liveApis().map((api) => api.stop()));
      await Promise.all([...this.last.values()].map((agent) => agent.stop()));
      await this.pool.end();
    } finally {
      // Task workers outlive a killed pct, as on Proxmox (an orphan-worker fault leaves some).
      for (const root of this.roots.values()) for (const { pid } of liveTaskWorkers(root)) killIfAlive(pid);
      await this.pmxcfs.unmountAll();
    }
  }
}

function killIfAlive(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // it ended meanwhile
  }
}
