import type { EventBus } from "../events/event-bus.js";
import type { PctObserver } from "../metrics/timed-pct-runner.js";
import type { ClusterFsStatus } from "../node/cluster-fs.js";
import type { ExecutorObserver } from "./executor.js";

/**
 * Fans out what the node side reports (events, `pct` timings, /etc/pve's state) to whoever
 * observes the executor: the network process's metrics, event relay and health status.
 * A throwing observer cannot stop the others.
 */
export class ExecutorObservers implements PctObserver {
  private readonly observers = new Set<ExecutorObserver>();

  /** The node side's events reach every observer; the bus holds the recent ones for late comers. */
  constructor(private readonly events: EventBus) {
    events.subscribe((event) => this.each((o) => o.event(event)));
  }

  /** With `sinceMs`, the events held since then are replayed first (one may come twice, none is missed). */
  add(observer: ExecutorObserver, sinceMs?: number): () => void {
    this.observers.add(observer);
    if (sinceMs !== undefined) for (const event of this.events.recent(sinceMs)) observer.event(event);
    return () => this.observers.delete(observer);
  }

  observePct(command: string, outcome: string, seconds: number): void {
    this.each((o) => o.pct(command, outcome, seconds));
  }

  clusterFs(status: ClusterFsStatus): void {
    this.each((o) => o.clusterFs(status));
  }

  private each(report: (observer: ExecutorObserver) => void): void {
    for (const observer of this.observers) {
      try {
        report(observer);
      } catch {
        // An observer is the network side's bookkeeping; the node's work goes on without it.
      }
    }
  }
}
