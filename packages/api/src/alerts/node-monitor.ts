import type { RowDataPacket } from "mysql2/promise";
import { agentV1, LockstepError, type Clock, type Logger } from "@lockstep/shared";
import type { AgentDirectory } from "../agents/agent-directory.js";
import type { AlertBook } from "./alert-book.js";
import { recordNodeCluster } from "../nodes/node-cluster.js";
import { inMaintenance } from "../nodes/node-repository.js";
import type { Database } from "../db/database.js";
import type { Fence, LeaseStore } from "../leases/lease-store.js";
import { wakeNodeOperations } from "../lifecycle/operation-lifecycle.js";

export interface MonitorOptions {
  readonly intervalMs: number;
  /** How long an agent may be unreachable before it is an alert (a restart is not). */
  readonly unreachableAlertMs: number;
  readonly probeTimeoutMs: number;
  /** Told when a node answers healthy again and its waiting jobs were made due (the dispatcher wakes). */
  readonly onNodeBack?: (node: string) => void;
}

/** What the monitor works with. */
export interface NodeMonitorDeps {
  readonly pool: Database;
  readonly agents: AgentDirectory;
  readonly alerts: AlertBook;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly options: MonitorOptions;
  readonly leases: LeaseStore;
}

interface NodeRow extends RowDataPacket {
  unreachable_since: Date | null;
  health_state: string;
}

/**
 * Watches each node's health through its agent. An agent that reports `pct` unresponsive,
 * or that cannot be reached for longer than allowed, raises one alert; the first healthy
 * answer resolves it. It only reports: nothing on a node is ever destroyed or rolled back
 * because the node stopped answering. A node in maintenance is still checked (its health is
 * shown) but raises no alert: its operator took it down on purpose. Each node is checked by
 * one API process at a time, under a lease that fences what the check records. A node that
 * answers healthy again has its jobs waiting out a backoff made due at once.
 */
export class NodeMonitor {
  private timer: NodeJS.Timeout | null = null;

  private readonly pool: Database;
  private readonly agents: AgentDirectory;
  private readonly alerts: AlertBook;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly options: MonitorOptions;
  private readonly leases: LeaseStore;

  constructor(deps: NodeMonitorDeps) {
    ({
      pool: this.pool,
      agents: this.agents,
      alerts: this.alerts,
      clock: this.clock,
      logger: this.logger,
      options: this.options,
      leases: this.leases,
    } = deps);
  }

  start(): void {
    this.timer = setTimeout(() => void this.tick(), 0);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async tick(): Promise<void> {
    try {
      const [rows] = await this.pool.query<RowDataPacket[]>("SELECT name, unreachable_since, health_state FROM nodes");
      // Held past the probe's timeout, so that it cannot lapse while the probe waits.
      const timing = { ttlMs: this.options.probeTimeoutMs * 2 + 5_000, waitMs: 0 };
      await Promise.all(
        rows.map((row) =>
          this.leases.hold(`node-monitor/${row.name as string}`, timing, (lease) =>
            this.check(row.name as string, row as NodeRow, this.leases.fence(lease)),
          ),
        ),
      );
    } catch (err) {
      this.logger.warn("node health round failed", { err });
    }
    if (this.timer) this.timer = setTimeout(() => void this.tick(), this.options.intervalMs);
  }

  private async check(node: string, before: NodeRow, fence: Fence): Promise<void> {
    const unreachableSince = before.unreachable_since;
    const now = new Date(this.clock.now());
    let health: agentV1.GetHealthResponse;
    try {
      health = await (await this.agents.forNode(node)).getHealth({}, { timeoutMs: this.options.probeTimeoutMs });
    } catch (err) {
      const since = unreachableSince ?? now;
      await this.pool.transaction(async (tx) => {
        await fence(tx);
        await tx.query(
          "UPDATE nodes SET health_state = 'unreachable', unreachable_since = COALESCE(unreachable_since, ?), updated_at = ? WHERE name = ?",
          [now, now, node],
        );
      });
      if (
        now.getTime() - since.getTime() >= this.options.unreachableAlertMs &&
        !(await inMaintenance(this.pool, node))
      ) {
        const why = err instanceof LockstepError ? err.message : String(err);
        await this.alerts.raise({
          dedupKey: `lockstep/${node}/agent-unreachable`,
          node,
          kind: "agent-unreachable",
          summary: `Lockstep agent on ${node} unreachable since ${since.toISOString()}: ${why}`,
        });
      }
      return;
    }
    const state = health.pctResponsive ? "healthy" : "unresponsive";
    await this.pool.transaction(async (tx) => {
      await fence(tx);
      await tx.query(
        "UPDATE nodes SET health_state = ?, last_health = ?, last_seen_at = ?, unreachable_since = NULL, updated_at = ? WHERE name = ?",
        [state, JSON.stringify(agentV1.GetHealthResponse.toJSON(health)), now, now, node],
      );
      await recordNodeCluster(tx, node, health.clusterName, health.clusterMembers, now);
    });
    if (health.pctResponsive) {
      if (before.health_state !== "healthy") await this.nodeBack(node, now);
      return this.alerts.resolve(node);
    }
    // Asked now, not before the probe: maintenance may have begun while the probe waited.
    if (await inMaintenance(this.pool, node)) return;
    // A cluster filesystem that is hung, stopped or without quorum is why pct cannot answer: say so.
    const why =
      health.clusterFsState !== agentV1.ClusterFsState.OK &&
      health.clusterFsState !== agentV1.ClusterFsState.UNSPECIFIED
        ? `/etc/pve (pmxcfs) on ${node}: ${health.clusterFsDetail}`
        : `pct on ${node} does not answer: ${health.pctDetail}`;
    await this.alerts.raise({
      dedupKey: `lockstep/${node}/hypervisor-unresponsive`,
      node,
      kind: "hypervisor-unresponsive",
      summary: why,
    });
  }

  /** Jobs that failed while the node was away wait out their backoff no longer. */
  private async nodeBack(node: string, now: Date): Promise<void> {
    const woken = await wakeNodeOperations(this.pool, node, now);
    if (woken > 0) this.logger.info("node answers again; its waiting jobs are due now", { node, jobs: woken });
    this.options.onNodeBack?.(node);
  }
}
