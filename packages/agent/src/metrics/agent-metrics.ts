import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import type { EventBus } from "../events/event-bus.js";

/** What the RPC wrappers report: one call, its outcome, and whether it was a replay. */
export interface RpcObserver {
  observe(method: string, outcome: string, replayed: boolean): void;
}

/** The agent's Prometheus metrics: RPCs by outcome, dedup replays, lock events, operations running. */
export class AgentMetrics implements RpcObserver {
  readonly registry = new Registry();
  private readonly rpcs = new Counter({ name: "lockstep_agent_rpcs_total", help: "RPCs by method and outcome (OK or the reason code)", labelNames: ["method", "outcome"], registers: [this.registry] });
  private readonly replays = new Counter({ name: "lockstep_agent_dedup_replays_total", help: "Mutating RPCs answered from the durable request record instead of running again", labelNames: ["method"], registers: [this.registry] });
  private readonly events = new Counter({ name: "lockstep_agent_events_total", help: "Node events by kind (lock detected, cleared, blocked; pct unresponsive; interrupted operations)", labelNames: ["kind"], registers: [this.registry] });

  constructor(bus: EventBus, running: () => number) {
    collectDefaultMetrics({ register: this.registry, prefix: "lockstep_agent_" });
    bus.subscribe((event) => this.events.inc({ kind: event.kind }));
    new Gauge({ name: "lockstep_agent_operations_running", help: "Mutating operations running now", registers: [this.registry], collect() { this.set(running()); } });
  }

  observe(method: string, outcome: string, replayed: boolean): void {
    this.rpcs.inc({ method, outcome });
    if (replayed) this.replays.inc({ method });
  }
}
