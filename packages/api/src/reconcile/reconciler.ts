import type { RowDataPacket } from "mysql2/promise";
import { agentV1, LockstepError, type AgentClient, type Clock, type Logger, type Policy } from "@lockstep/shared";
import type { AgentDirectory } from "../agents/agent-directory.js";
import {
  classifyDrift,
  type ClusterView,
  type Finding,
  type NodeContainerView,
  type RecordView,
} from "./classify-drift.js";
import { followContainer } from "../containers/follow-container.js";
import { clusterFullyRegistered, clusterPeers, loadClusterMap, recordNodeCluster } from "../nodes/node-cluster.js";
import { inMaintenance } from "../nodes/node-repository.js";
import { recordForeignVmids, type ForeignGuest } from "../allocation/foreign-vmids.js";
import { recordIncident } from "../incidents/incident-log.js";
import { recordNodePass } from "./drift-store.js";
import { policyFindings } from "./policy-drift.js";
import { recordObserved } from "../lifecycle/container-lifecycle.js";
import { markedRecord } from "./ownership-marker.js";
import { repairFinding, type RepairDeps } from "./repair-drift.js";
import type { Database } from "../db/database.js";
import type { Fence, Lease, LeaseStore } from "../leases/lease-store.js";

// A node's pass lists it, compares and repairs; the lease is renewed every third of this.
const LEASE_TTL_MS = 60_000;

/** What one pass did on one node. */
export interface NodeReconcileReport {
  readonly node: string;
  readonly reachable: boolean;
  /** Another API process was reconciling this node: this pass left it alone. */
  readonly skipped: boolean;
  readonly containers: number;
  readonly findings: number;
  readonly opened: number;
  readonly repairs: { readonly kind: string; readonly vmid: number | null; readonly action: string }[];
  /** Repairs were withheld: the node is in maintenance (its findings were recorded all the same). */
  readonly maintenance: boolean;
  readonly error?: string;
}

/** What a reconciler works with: the database, the agents, its lease and what repairs may do. */
export interface ReconcilerDeps extends RepairDeps {
  readonly agents: AgentDirectory;
  readonly leases: LeaseStore;
  /** The policy records of tokens without their own are judged by (`policy` findings). */
  readonly globalPolicy: Policy;
}

/**
 * Compares every node's containers with the records, each node under its own lease (so passes
 * in several API processes never judge one node twice at once, on one database server or on
 * Galera), with every write of the pass fenced by the lease's token; records what
 * differs, and repairs what the policy allows. A node that cannot be listed is reported and
 * none of its containers is judged missing. A node in maintenance is read and its findings
 * recorded, but nothing there is repaired; a record still follows its container off or onto
 * it (a record moved to where its container is touches no node).
 */
export class Reconciler {
  private timer: NodeJS.Timeout | null = null;
  private readonly pool: Database;
  private readonly agents: AgentDirectory;
  private readonly repair: RepairDeps;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly leases: LeaseStore;
  private readonly globalPolicy: Policy;

  constructor(deps: ReconcilerDeps) {
    const { agents, leases, globalPolicy, ...repair } = deps;
    this.globalPolicy = globalPolicy;
    this.pool = repair.pool;
    this.agents = agents;
    this.repair = repair;
    this.logger = repair.logger;
    this.clock = repair.clock;
    this.leases = leases;
  }

  start(intervalMs: number): void {
    const loop = async (): Promise<void> => {
      await this.pass().catch((err: unknown) => this.logger.warn("reconcile pass failed", { err }));
      if (this.timer) this.timer = setTimeout(() => void loop(), intervalMs);
    };
    this.timer = setTimeout(() => void loop(), intervalMs);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /**
   * One pass over every node. A periodic pass skips a node another pass is judging (`waitS`
   * 0); a pass someone asked for waits its turn, up to `waitS` seconds, because a pass that
   * began before the request may have listed the node before the change the caller wants seen.
   */
  async pass(waitS = 0): Promise<NodeReconcileReport[]> {
    const [nodes] = await this.pool.query<RowDataPacket[]>("SELECT name FROM nodes ORDER BY name");
    return Promise.all(nodes.map((n) => this.reconcileNode(n.name as string, waitS)));
  }

  async reconcileNode(node: string, waitS = 0): Promise<NodeReconcileReport> {
    const empty = {
      node,
      reachable: true,
      skipped: false,
      containers: 0,
      findings: 0,
      opened: 0,
      repairs: [],
      maintenance: false,
    };
    const held = await this.leases.hold(`reconcile/${node}`, { ttlMs: LEASE_TTL_MS, waitMs: waitS * 1000 }, (lease) =>
      this.judge(node, empty, this.leases.fence(lease), lease),
    );
    return held ? held.value : { ...empty, skipped: true };
  }

  private async judge(
    node: string,
    empty: NodeReconcileReport,
    fence: Fence,
    lease: Lease,
  ): Promise<NodeReconcileReport> {
    const now = new Date(this.clock.now());
    const listedAt = new Date(this.clock.now());
    let agent: AgentClient;
    let listing: NodeListing;
    try {
      agent = await this.agents.forNode(node);
      listing = await this.listNode(agent);
    } catch (err) {
      const error = err instanceof LockstepError ? err.message : String(err);
      const unreachable: Finding = {
        kind: "unreachable",
        node,
        vmid: 0,
        containerId: null,
        detail: `could not list the node: ${error}; nothing on it is judged`,
      };
      // Found unreachable when the listing failed, which can be long after the pass began.
      await this.pool.transaction(async (tx) => {
        await fence(tx);
        await recordNodePass(tx, node, [unreachable], new Date(this.clock.now()), (kind) => kind === "unreachable");
      });
      return { ...empty, reachable: false, findings: 1, error };
    }
    await this.pool.transaction(async (tx) => {
      await fence(tx);
      await recordNodeCluster(tx, node, listing.clusterName, listing.clusterMembers, now);
    });
    const { containers: onNode, vms } = listing;
    const judged = classifyDrift(node, onNode, await this.records(listedAt), await this.clusterView(node, listing));
    const { observed, moves } = judged;
    const findings = [
      ...(await this.confirmMissing(agent, node, judged.findings)),
      ...(await policyFindings(this.pool, node, this.globalPolicy)),
    ];
    for (const move of moves)
      await followContainer(this.pool, { ...move, foundBy: "reconciler" }, this.repair.ports, now, fence);
    const { opened, open } = await this.pool.transaction(async (tx) => {
      await fence(tx);
      for (const o of observed) await recordObserved(tx, o.containerId, o.state, now);
      for (const f of findings.filter((f) => f.kind === "missing"))
        await recordObserved(tx, f.containerId!, "absent", now);
      // Someone else's containers and the cluster's QEMU VMs: their VMIDs are never handed out.
      const foreignCts = findings.filter((f) => f.kind === "foreign").map((f) => ({ vmid: f.vmid, node }));
      await recordForeignVmids(tx, [...foreignCts, ...vms], now);
      return recordNodePass(tx, node, findings, now, () => true);
    });
    const report = { ...empty, containers: onNode.length, findings: findings.length, opened: opened.length };
    // Read after the findings, right before any repair: an operator at work on the node may
    // be the cause of what differs, so nothing there is destroyed, re-created or unlocked.
    if (await inMaintenance(this.pool, node)) {
      if (open.length > 0)
        this.logger.info("node in maintenance: its findings are reported, none is repaired", {
          node,
          open: open.length,
        });
      return { ...report, maintenance: true };
    }
    const repairs: NodeReconcileReport["repairs"][number][] = [];
    for (const finding of open) {
      const action = await repairFinding(this.repair, agent, finding, fence).catch((err: unknown) => {
        this.logger.warn("repair failed; the finding stays open", {
          node,
          vmid: finding.vmid,
          kind: finding.kind,
          err,
        });
        return null;
      });
      if (!action) continue;
      this.logger.info("drift repaired", {
        node,
        vmid: finding.vmid,
        kind: finding.kind,
        action,
        leaseToken: lease.token,
      });
      repairs.push({ kind: finding.kind, vmid: finding.vmid, action });
      await recordIncident(this.pool, {
        at: new Date(this.clock.now()),
        node,
        vmid: finding.vmid,
        kind: "drift-repair",
        severity: "info",
        detail: `${finding.kind}: ${action}`,
        containerId: finding.container_id,
      });
    }
    return { ...report, repairs };
  }

  /**
   * A listing is one look, and a container can be absent from it for a moment while its config
   * is being replaced (libfuse renames an open file aside first: agent node/cluster-fs.ts). A
   * record is judged missing only when the node, asked for that container itself, says NOT_FOUND
   * (or holds another's under its VMID); found, or unanswered, it is not judged in this pass.
   */
  private async confirmMissing(agent: AgentClient, node: string, findings: readonly Finding[]): Promise<Finding[]> {
    const kept: Finding[] = [];
    for (const finding of findings) {
      if (finding.kind !== "missing") {
        kept.push(finding);
        continue;
      }
      const answer = await agent.getContainer({ vmid: finding.vmid }).then(
        ({ container }) =>
          container && markedRecord(container.tags, container.description) === finding.containerId
            ? "found"
            : "not-found",
        (err: unknown) => (err instanceof LockstepError && err.code === "NOT_FOUND" ? "not-found" : String(err)),
      );
      if (answer === "not-found") kept.push(finding);
      else
        this.logger.info("a record missing from the node's listing is not judged in this pass", {
          node,
          vmid: finding.vmid,
          containerId: finding.containerId,
          lookedAgain: answer,
        });
    }
    return kept;
  }

  /**
   * What the judged node knows of its cluster: where each container is (from its own
   * /etc/pve, one view of the whole cluster), and whether every member is a registered node
   * whose agent answered its last health check: only then may a record be judged missing.
   */
  private async clusterView(node: string, listing: NodeListing): Promise<ClusterView> {
    const clusters = await loadClusterMap(this.pool);
    const peers = clusterPeers(clusters, node);
    const complete = clusterFullyRegistered(clusters, node) && (peers.length === 0 || (await this.allAnswering(peers)));
    return { sameCluster: (other) => peers.includes(other), containerNodes: listing.containerNodes, complete };
  }

  /** Whether every one of `nodes` answered its last health check. */
  private async allAnswering(nodes: readonly string[]): Promise<boolean> {
    const [down] = await this.pool.query<RowDataPacket[]>(
      "SELECT name FROM nodes WHERE name IN (?) AND health_state IN ('unknown', 'unreachable') LIMIT 1",
      [nodes],
    );
    return down.length === 0;
  }

  /** The node's containers, and the cluster's QEMU VMs, containers and members as the node sees them. */
  private async listNode(agent: AgentClient): Promise<NodeListing> {
    const { containers, vms, clusterContainers, clusterName, clusterMembers } = await agent.listContainers({});
    const views = await Promise.all(
      containers.map(async (ct) => ({
        vmid: ct.vmid,
        running: ct.status === agentV1.ContainerStatus.RUNNING,
        lock: ct.lock,
        tags: ct.tags,
        description: ct.description,
        staleLock:
          ct.lock && (await agent.inspectLock({ vmid: ct.vmid })).verdict === agentV1.LockVerdict.STALE
            ? ct.lock
            : null,
      })),
    );
    return {
      containers: views,
      vms: vms.map((vm) => ({ vmid: vm.vmid, node: vm.node })),
      containerNodes: new Map(clusterContainers.map((ct) => [ct.vmid, ct.node])),
      clusterName,
      clusterMembers,
    };
  }

  /**
   * Every live record, read after the node was listed. A record with a job queued or running,
   * or one that finished after the listing began, is busy: the listing may predate its work.
   */
  private async records(listedAt: Date): Promise<Map<string, RecordView>> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT c.id, c.node, c.vmid, c.status,
         EXISTS (SELECT 1 FROM operations o WHERE o.container_id = c.id AND (o.status IN ('queued', 'running') OR o.finished_at >= ?)) AS busy
       FROM containers c WHERE c.status <> 'deleted' OR c.deleted_at >= ?`,
      [listedAt, listedAt],
    );
    return new Map(
      rows.map((r) => [r.id as string, { id: r.id, node: r.node, vmid: r.vmid, status: r.status, busy: r.busy === 1 }]),
    );
  }
}

interface NodeListing {
  readonly containers: NodeContainerView[];
  readonly vms: ForeignGuest[];
  readonly containerNodes: ReadonlyMap<number, string>;
  readonly clusterName: string;
  readonly clusterMembers: readonly string[];
}
