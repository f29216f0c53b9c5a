import type { Logger } from "@lockstep/shared";
import type { NodeEvent } from "./node-event.js";

export type EventListener = (event: NodeEvent) => void;

/**
 * Fans node events out to subscribers (WatchEvents streams) and writes each one to the log,
 * so an event is never only in memory. A throwing listener cannot stop the others.
 */
export class EventBus {
  private readonly listeners = new Set<EventListener>();

  constructor(private readonly logger: Logger) {}

  publish(event: NodeEvent): void {
    this.logger.info(`event ${event.kind}`, { event: event.kind, vmid: event.vmid, node: event.node, detail: event.detail, requestId: event.requestId, atMs: event.atMs });
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.logger.warn("event listener failed", { err });
      }
    }
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }
}
