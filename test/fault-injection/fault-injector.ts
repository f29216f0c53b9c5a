import { writeFaults, type FaultRule } from "@lockstep/sim";
import type { InjectedFault } from "./invariants.js";
import type { ScenarioCluster } from "./scenario-cluster.js";
import { asOperator } from "./bystanders.js";
import { BusyHost } from "./busy-host.js";
import { ContainerMover } from "./container-moves.js";
import { nodeContainers } from "./node-truth.js";
import type { PlannedFault } from "./scenario-plan.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// A hung pct outlasts the agent's 6 s pct timeout, and still ends by itself, as a hung
// cluster filesystem comes back: a pct left hanging by a killed agent would hold its lock forever.
const HANG_MS = 9000;
// A task worker blocked in the kernel ignores the TERM pct hands it: the agent kills pct's
// group 2 s after its 6 s timeout, and the worker lives on past that, then finishes or dies at
// its next write to the dead pct (pve-common RESTEnvironment.pm fork_worker, setsid).
const ORPHAN_HANG_MS = 12_000;
// How much longer than its planned time a move waits for a container that can move: on a
// loaded machine a short phase can end before the first create has converged.
const MOVE_GRACE_MS = 60_000;
// How long vzdump spends on each guest: a backup's `lock: backup` lasts about this long.
const BACKUP_MS_PER_GUEST = 1500;

/**
 * Carries out the planned faults on the running cluster and restores what each one broke
 * when its time is up. What really happened is kept for the invariants (a fault that found
 * its target already down is skipped).
 */
export class FaultInjector {
  readonly injected: InjectedFault[] = [];
  private readonly rules = new Map<string, Set<FaultRule>>();
  private databaseDown = false;
  /** A Galera node killed or cut off by a fault: one at a time. */
  private dbNodeHeld = false;
  private readonly mover: ContainerMover;
  /** Nodes whose pmxcfs a fault holds (paused, stopped, without quorum): one such fault at a time. */
  private readonly pmxcfsHeld = new Set<string>();
  private busyHost: BusyHost | null = null;

  constructor(
    private readonly cluster: ScenarioCluster,
    private readonly log: (line: string) => void,
    /** The records the workload made and never asked to delete: the only ones moved. */
    lasting: () => ReadonlySet<string>,
  ) {
    this.mover = new ContainerMover(cluster, lasting);
  }

  async run(plan: readonly PlannedFault[], phaseStart: number): Promise<void> {
    await Promise.all(
      plan.map(async (fault) => {
        await sleep(Math.max(0, phaseStart + fault.at - Date.now()));
        await this.inject(fault);
      }),
    );
  }

  /** After the phase: every rule removed, every process, pmxcfs and the database up again. */
  async restoreAll(): Promise<void> {
    for (const node of this.cluster.nodes) writeFaults(this.cluster.roots.get(node)!, []);
    this.rules.clear();
    await this.cluster.pmxcfs.restoreAll();
    this.pmxcfsHeld.clear();
    await this.busyHost?.end();
    this.busyHost = null;
    await this.restoreDatabase();
    for (const node of [...this.cluster.paused]) this.cluster.resumeAgent(node);
    for (const node of this.cluster.downExecutors()) await this.cluster.restartExecutor(node);
    for (const node of this.cluster.downAgents()) await this.cluster.restartAgent(node);
    for (const i of this.cluster.downApis()) await this.retrying(() => this.cluster.startApi(i));
  }

  /** The single server started again, or every Galera node up and every network fault healed. */
  private async restoreDatabase(): Promise<void> {
    const database = this.cluster.database;
    if (database.kind === "galera") await database.platform.restoreAll();
    else if (this.databaseDown) await database.server.start();
    this.databaseDown = false;
    this.dbNodeHeld = false;
  }

  private async inject(fault: PlannedFault): Promise<void> {
    const cluster = this.cluster;
    const node = fault.node ?? null;
    const record = () => {
      this.injected.push({ kind: fault.kind, node, startedAt: Date.now() });
      this.log(
        `  fault +${fault.at}ms ${fault.kind}${node ? ` on ${node}` : ""}${fault.api !== undefined ? ` api#${fault.api}` : ""}${fault.dbNode ? ` ${fault.dbNode}` : ""}${fault.command ? ` (${fault.command})` : ""}${fault.signal ? ` (${fault.signal})` : ""} for ${fault.forMs}ms`,
      );
    };
    switch (fault.kind) {
      case "kill-agent": {
        if (!cluster.agents.get(node!)) return;
        record();
        await cluster.killAgent(node!);
        await sleep(fault.forMs);
        if (!cluster.agents.get(node!)) await cluster.restartAgent(node!);
        return;
      }
      case "kill-executor": {
        if (!cluster.nodes.includes(node!) || cluster.downExecutors().includes(node!)) return;
        record();
        await cluster.killExecutor(node!);
        await sleep(fault.forMs);
        if (cluster.downExecutors().includes(node!)) await cluster.restartExecutor(node!);
        return;
      }
      case "unreachable": {
        if (!cluster.agents.get(node!) || cluster.paused.has(node!)) return;
        record();
        cluster.pauseAgent(node!);
        await sleep(fault.forMs);
        cluster.resumeAgent(node!);
        return;
      }
      case "kill-api": {
        if (!cluster.apis[fault.api!]) return;
        record();
        await cluster.killApi(fault.api!);
        await sleep(fault.forMs);
        if (!cluster.apis[fault.api!]) await this.retrying(() => cluster.startApi(fault.api!));
        return;
      }
      case "restart-mariadb": {
        const database = cluster.database;
        if (database.kind !== "single" || this.databaseDown) return;
        record();
        this.databaseDown = true;
        await database.server.stop(fault.signal!);
        await sleep(fault.forMs);
        await database.server.start();
        this.databaseDown = false;
        return;
      }
      case "kill-db-writer":
      case "partition-db-node":
      case "cut-api-db":
      case "cut-agent-api":
        return this.network(fault, record);
      case "hang-pct":
        return this.withRule(fault, { command: fault.command!, action: "hang", ms: HANG_MS, times: 1 }, record);
      case "crash-pct":
        return this.withRule(fault, { command: fault.command!, action: "crash", times: 1 }, record);
      case "orphan-worker":
        return this.withRule(
          fault,
          {
            command: fault.command!,
            action: "hang",
            ms: ORPHAN_HANG_MS,
            uninterruptible: true,
            afterHang: fault.afterHang!,
            times: 1,
          },
          record,
        );
      case "delay-visibility":
        return this.withRule(
          fault,
          { command: "push", action: "delay-visibility", ms: Math.min(fault.forMs, 1500) },
          record,
        );
      case "backup":
        return this.backup(fault, record);
      case "operator-mount":
        return this.mount(fault, record);
      case "migrate":
      case "ha-relocate":
        return this.move(fault);
      case "pmxcfs-pause":
        return this.holdPmxcfs(fault, "pause", "resume", record);
      case "pmxcfs-stop":
        return this.holdPmxcfs(fault, "stop", "start", record);
      case "pmxcfs-no-quorum":
        return this.holdPmxcfs(fault, "no-quorum", "quorum", record);
      case "busy-host":
        return this.busy(fault, record);
    }
  }

  /**
   * A fault of the Galera cluster or of the network, for the fault's time, then undone: a
   * killed writer rejoins (after the proxy failed over), a partition or cut heals. One database
   * node down or cut off at a time, so that two of three always keep quorum.
   */
  private async network(fault: PlannedFault, record: () => void): Promise<void> {
    const database = this.cluster.database;
    if (database.kind !== "galera") return;
    const platform = database.platform;
    const holdsDbNode = fault.kind === "kill-db-writer" || fault.kind === "partition-db-node";
    if (holdsDbNode && this.dbNodeHeld) return;
    if (fault.kind === "cut-agent-api" && !this.cluster.agents.get(fault.node!)) return;
    if (holdsDbNode) this.dbNodeHeld = true;
    try {
      record();
      if (fault.kind === "kill-db-writer") {
        const killed = await platform.killWriter();
        this.log(`  Galera writer ${killed} killed`);
        await sleep(fault.forMs);
        await platform.restartNode(killed);
        return;
      }
      const cuts =
        fault.kind === "partition-db-node"
          ? await platform.partitionNode(fault.dbNode!)
          : fault.kind === "cut-api-db"
            ? [await platform.cutApiFromDatabase(fault.api!)]
            : await platform.cutAgentFromApis(fault.node!, this.cluster.apis.length);
      await sleep(fault.forMs);
      for (const cut of cuts) await cut.heal();
    } finally {
      if (holdsDbNode) this.dbNodeHeld = false;
    }
  }

  /**
   * An admin's migration or an HA relocation of one of Lockstep's lasting containers, to
   * the planned node (or the next one when the container is there). Waits up to the fault's
   * time (and a grace) for a container that can move; none then, and nothing was injected.
   */
  private async move(fault: PlannedFault): Promise<void> {
    const nodes = this.cluster.nodes;
    let ct = this.mover.candidate(fault.at);
    for (
      const end = Date.now() + fault.forMs + MOVE_GRACE_MS;
      !ct && Date.now() < end;
      ct = this.mover.candidate(fault.at)
    )
      await sleep(500);
    if (!ct) return this.log(`  fault +${fault.at}ms ${fault.kind}: no container of Lockstep's could move`);
    const target = fault.node !== ct.node ? fault.node! : nodes[(nodes.indexOf(ct.node) + 1) % nodes.length]!;
    const startedAt = Date.now();
    this.log(
      `  fault +${fault.at}ms ${fault.kind} of CT ${ct.vmid} (record ${ct.record}) from ${ct.node} to ${target}`,
    );
    const move =
      fault.kind === "migrate" ? await this.mover.migrate(ct, target) : await this.mover.haRelocate(ct, target);
    // Logged with no node: the move concerns the source and the target alike.
    this.injected.push({ kind: fault.kind, node: null, startedAt, move });
    this.log(
      `  ${fault.kind} of CT ${move.vmid} ${move.from} -> ${move.to}: ${move.moved ? "moved" : "did not move"} (${move.said})`,
    );
  }

  /** One node's pmxcfs paused, stopped or without quorum for the fault's time, then restored. */
  private async holdPmxcfs(
    fault: PlannedFault,
    hold: "pause" | "stop" | "no-quorum",
    release: "resume" | "start" | "quorum",
    record: () => void,
  ): Promise<void> {
    const node = fault.node!;
    if (!this.cluster.pmxcfs.available || this.pmxcfsHeld.has(node)) return;
    this.pmxcfsHeld.add(node);
    try {
      record();
      await this.cluster.pmxcfs.control(node, hold);
      await sleep(fault.forMs);
    } finally {
      await this.cluster.pmxcfs
        .control(node, release)
        .catch((err: Error) => this.log(`  pmxcfs ${release} on ${node} failed (restored at the end): ${err.message}`));
      this.pmxcfsHeld.delete(node);
    }
  }

  /** Thousands of sleeping processes holding files open, for the fault's time. */
  private async busy(fault: PlannedFault, record: () => void): Promise<void> {
    if (this.busyHost) return;
    record();
    const host = await BusyHost.start(fault.processes!, Math.ceil(fault.forMs / 1000) + 60);
    this.busyHost = host;
    this.log(`  busy host: ${host.processes} sleeping processes holding files open`);
    await sleep(fault.forMs);
    await host.end();
    if (this.busyHost === host) this.busyHost = null;
  }

  /**
   * A backup job of every guest on the node, Lockstep's and others' (`vzdump <vmid>...`): each
   * carries `lock: backup` with no flock while it is archived, under one task with an empty
   * VMID (pve-manager PVE/API2/VZDump.pm vzdump). Lockstep must wait, never unlock.
   */
  private async backup(fault: PlannedFault, record: () => void): Promise<void> {
    const root = this.cluster.roots.get(fault.node!)!;
    const vmids = nodeContainers(fault.node!, root, this.cluster.clusterDir).map((c) => String(c.vmid));
    if (vmids.length === 0) return;
    record();
    const job = await asOperator(this.cluster.envs.get(fault.node!)!, "vzdump", vmids, {
      LOCKSTEP_SIM_VZDUMP_MS: String(BACKUP_MS_PER_GUEST),
    });
    this.log(`  backup of ${vmids.join(" ")} on ${fault.node} ended with exit ${job.code}`);
  }

  /** An operator's `pct mount` of a guest on the node (Lockstep's or not) for the fault's time. */
  private async mount(fault: PlannedFault, record: () => void): Promise<void> {
    const root = this.cluster.roots.get(fault.node!)!;
    const env = this.cluster.envs.get(fault.node!)!;
    const candidates = nodeContainers(fault.node!, root, this.cluster.clusterDir).filter((c) => !c.lock);
    if (candidates.length === 0) return;
    const vmid = String(candidates[Math.floor((fault.at * 7919) % candidates.length)]!.vmid);
    // Proxmox refuses a locked guest (set_lock: check_lock); nothing was injected then.
    if ((await asOperator(env, "pct", ["mount", vmid])).code !== 0) return;
    record();
    await sleep(fault.forMs);
    // The unmount waits out a paused pmxcfs and fails on one without quorum: tried again, so
    // that no `lock: mounted` is left behind, unless the lock or the CT is gone.
    for (let attempt = 0; attempt < 60; attempt++, await sleep(500)) {
      const unmounted = await asOperator(env, "pct", ["unmount", vmid]);
      if (unmounted.code === 0 || /no lock found|does not exist/.test(unmounted.output)) break;
    }
  }

  /** A simulator fault rule on the node for the fault's time. */
  private async withRule(fault: PlannedFault, rule: FaultRule, record: () => void): Promise<void> {
    const root = this.cluster.roots.get(fault.node!)!;
    const rules = this.rules.get(fault.node!) ?? new Set();
    this.rules.set(fault.node!, rules);
    record();
    rules.add(rule);
    writeFaults(root, [...rules]);
    await sleep(fault.forMs);
    rules.delete(rule);
    writeFaults(root, [...rules]);
  }

  /** Starting an API needs the database: tried again until it is back. */
  private async retrying(start: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await start();
      } catch (err) {
        if (attempt >= 60) throw err;
        await sleep(500);
      }
    }
  }
}
