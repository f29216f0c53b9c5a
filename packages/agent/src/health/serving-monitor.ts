import type { Clock, Logger } from "@lockstep/shared";
import type { ClusterFsStatus } from "../node/cluster-fs.js";
import type { NodeProbe } from "./node-probe.js";

/** Whether the agent can do its work on this node, as grpc.health.v1 says it. */
export type ServingStatus = "SERVING" | "NOT_SERVING";

/** The status, why (empty while serving), and since when. */
export interface ServingState {
  readonly status: ServingStatus;
  readonly detail: string;
  readonly sinceMs: number;
}

export interface ServingMonitorOptions {
  /** The node's probe (health/node-probe.ts): the one Health runs. */
  readonly probe: () => Promise<NodeProbe>;
  /** How old the last probe may grow before the monitor probes on its own. */
  readonly intervalMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
}

interface Watcher {
  readonly change: (state: ServingState) => void;
  readonly stopped: () => void;
}

/** SERVING while pct and /etc/pve answer; NOT_SERVING, with the reason, otherwise. */
function servingVerdict(probe: NodeProbe): Pick<ServingState, "status" | "detail"> {
  if (probe.clusterFsState !== "ok")
    return {
      status: "NOT_SERVING",
      detail: `the cluster filesystem is ${probe.clusterFsState}: ${probe.clusterFsDetail}`,
    };
  if (!probe.pctResponsive) return { status: "NOT_SERVING", detail: `pct does not answer: ${probe.pctDetail}` };
  return { status: "SERVING", detail: "" };
}

/**
 * The node's serving status, kept from the node's probe (health/node-probe.ts): every probe's
 * answer sets it, whoever ran it (each Health call runs one), and the monitor probes on its
 * own only when no probe ran for `intervalMs`. Each caller runs its own probe rather than
 * joining one already running: a probe held by a `pct` that hangs must not hold Health too.
 * Answers may come back out of order; the status follows the probe that started last. A
 * change of the cluster filesystem's state, seen by any read of /etc/pve, takes effect at
 * once (NOT_SERVING when it is no longer trusted) and outranks every probe begun before it:
 * a fresh probe, of `pct` too, decides the return to SERVING.
 */
export class ServingMonitor {
  private state: ServingState;
  private readonly watchers = new Set<Watcher>();
  /** Orders probes and cluster filesystem changes as they begin. */
  private sequence = 0;
  /** The newest probe or change the status comes from: an answer from before it is stale. */
  private decidedBy = 0;
  private lastProbeAtMs = Number.NEGATIVE_INFINITY;
  private readonly stopping = new AbortController();

  constructor(private readonly options: ServingMonitorOptions) {
    this.state = { status: "NOT_SERVING", detail: "the node has not been probed yet", sinceMs: options.clock.now() };
  }

  /** The status now, without probing. */
  current(): ServingState {
    return this.state;
  }

  /** Calls `change` on every change of status and `stopped` when the agent stops (at once if it has); returns the unsubscribe. */
  watch(change: (state: ServingState) => void, stopped: () => void): () => void {
    if (this.stopping.signal.aborted) {
      stopped();
      return () => undefined;
    }
    const watcher = { change, stopped };
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  /** Probes the node and sets the status from the answer, unless something newer has decided it. */
  async probe(): Promise<NodeProbe> {
    const mine = ++this.sequence;
    this.lastProbeAtMs = this.options.clock.now();
    try {
      const found = await this.options.probe();
      this.decide(mine, servingVerdict(found));
      return found;
    } catch (err) {
      this.decide(mine, {
        status: "NOT_SERVING",
        detail: `the node probe failed: ${err instanceof Error ? err.message : String(err)}`,
      });
      throw err;
    }
  }

  /** Told by the cluster filesystem (node/cluster-fs.ts onChange) that its state changed. */
  clusterFsChanged(status: ClusterFsStatus): void {
    this.decidedBy = ++this.sequence;
    if (status.state !== "ok")
      this.set({ status: "NOT_SERVING", detail: `the cluster filesystem is ${status.state}: ${status.detail}` });
    if (!this.stopping.signal.aborted)
      void this.probe().catch((err: unknown) => this.options.logger.warn("the node probe failed", { err }));
  }

  /**
   * Told that the node's executor can (`reachable`) or cannot be reached (its socket closed):
   * NOT_SERVING at once when it cannot, outranking every probe begun before; a fresh probe
   * decides the return to SERVING.
   */
  executorReachable(reachable: boolean, detail: string): void {
    this.decidedBy = ++this.sequence;
    if (!reachable) this.set({ status: "NOT_SERVING", detail });
    else if (!this.stopping.signal.aborted)
      void this.probe().catch((err: unknown) => this.options.logger.warn("the node probe failed", { err }));
  }

  /** Probes whenever no probe ran for `intervalMs`, until `stop`. */
  start(): void {
    void this.loop();
  }

  /** NOT_SERVING from now on (the agent is draining); watchers are told and let go. */
  stop(): void {
    this.stopping.abort();
    this.set({ status: "NOT_SERVING", detail: "the agent is stopping" });
    for (const watcher of this.watchers) watcher.stopped();
    this.watchers.clear();
  }

  private async loop(): Promise<void> {
    const { clock, intervalMs, logger } = this.options;
    while (!this.stopping.signal.aborted) {
      if (clock.now() - this.lastProbeAtMs >= intervalMs)
        await this.probe().catch((err: unknown) => logger.warn("the node probe failed", { err }));
      const due = this.lastProbeAtMs + intervalMs - clock.now();
      await clock.sleep(Math.max(due, 1), this.stopping.signal).catch(() => undefined);
    }
  }

  private decide(probe: number, verdict: Pick<ServingState, "status" | "detail">): void {
    if (probe < this.decidedBy || this.stopping.signal.aborted) return;
    this.decidedBy = probe;
    this.set(verdict);
  }

  private set(next: Pick<ServingState, "status" | "detail">): void {
    if (next.status === this.state.status) {
      this.state = { ...this.state, detail: next.detail };
      return;
    }
    this.state = { ...next, sinceMs: this.options.clock.now() };
    if (next.status === "SERVING") this.options.logger.info("the node is serving", {});
    else this.options.logger.warn("the node is not serving", { detail: next.detail });
    for (const watcher of this.watchers) watcher.change(this.state);
  }
}
