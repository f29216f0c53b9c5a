import type { Logger } from "@lockstep/shared";
import type { NodeEvent } from "./node-event.js";

export type EventListener = (event: NodeEvent) => void;

/**
 * Fans node events out to subscribers (WatchEvents streams) and writes each one to the log,
 * so an event is never only in memory. A throwing listener cannot stop the others.
 */
export class EventBus {
  private readonly listeners = new Set<EventListener>();
  private readonly recentEvents: NodeEvent[] = [];

  /** `keep`: how many recent events are held for subscribers that come back (WatchEvents since_ms). */
  constructor(
    private readonly logger: Logger,
    private readonly keep = 1000,
  ) {}

  publish(event: NodeEvent): void {
    this.logger.info(`event ${event.kind}`, {
      event: event.kind,
      vmid: event.vmid,
      node: event.node,
      detail: event.detail,
      requestId: event.requestId,
      atMs: event.atMs,
    });
    this.relay(event);
  }

  /** An event another process published and logged (the root executor's): held and fanned out, not logged again. */
  relay(event: NodeEvent): void {
    this.recentEvents.push(event);
    if (this.recentEvents.length > this.keep) this.recentEvents.shift();
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.logger.warn("event listener failed", { err });
      }
    }
  }

  /** The held events at or after `sinceMs`, oldest first. */
  recent(sinceMs: number): NodeEvent[] {
    return this.recentEvents.filter((e) => e.atMs >= sinceMs);
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
