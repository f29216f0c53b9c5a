import type { RowDataPacket } from "mysql2/promise";
import { agentV1, type Clock, type Logger } from "@lockstep/shared";
import type { AgentDirectory } from "../agents/agent-directory.js";
import { recordIncident, type Severity } from "./incident-log.js";
import type { Database } from "../db/database.js";

const KINDS: Partial<Record<agentV1.EventKind, { kind: string; severity: Severity }>> = {
  [agentV1.EventKind.LOCK_DETECTED]: { kind: "lock-detected", severity: "info" },
  [agentV1.EventKind.LOCK_CLEARED]: { kind: "lock-cleared", severity: "info" },
  [agentV1.EventKind.LOCK_BLOCKED]: { kind: "lock-blocked", severity: "warning" },
  [agentV1.EventKind.HYPERVISOR_UNRESPONSIVE]: { kind: "hypervisor-unresponsive", severity: "critical" },
  [agentV1.EventKind.OPERATION_INTERRUPTED]: { kind: "operation-interrupted", severity: "warning" },
  // The agent's own policy refused a request the API sent or someone holding a client
  // certificate did: the detail names the rule, the field and the client certificate.
  [agentV1.EventKind.POLICY_REFUSED]: { kind: "policy-refused", severity: "warning" },
};

/** What the relay works with. */
export interface AgentEventRelayDeps {
  readonly pool: Database;
  readonly agents: AgentDirectory;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How often the list of registered nodes is read again (new nodes get a stream). */
  readonly refreshMs?: number;
  /** How far back a reopened stream asks its agent for the events it missed. */
  readonly replayMs?: number;
}

/**
 * Writes the lock events and escalations each agent streams (WatchEvents) into the incident
 * log, with the node's own time, node and VMID. One stream per registered node, reopened with
 * backoff when it breaks, each time asking the agent for the recent events it missed; several
 * API processes may relay the same event, and a reopened stream may repeat one, which the log
 * keeps once.
 */
export class AgentEventRelay {
  private readonly streams = new Map<string, AbortController>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  private readonly pool: Database;
  private readonly agents: AgentDirectory;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly refreshMs: number;
  private readonly replayMs: number;

  constructor(deps: AgentEventRelayDeps) {
    ({ pool: this.pool, agents: this.agents, clock: this.clock, logger: this.logger } = deps);
    this.refreshMs = deps.refreshMs ?? 5_000;
    this.replayMs = deps.replayMs ?? 15 * 60_000;
  }

  start(): void {
    void this.refresh();
  }

  /** Looks for new nodes now (after a write that may have registered one). */
  refreshSoon(): void {
    if (this.timer === null) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), 0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const abort of this.streams.values()) abort.abort();
    this.streams.clear();
  }

  private async refresh(): Promise<void> {
    try {
      const [rows] = await this.pool.query<RowDataPacket[]>("SELECT name FROM nodes");
      for (const { name } of rows) if (!this.streams.has(name as string)) this.follow(name as string);
    } catch (err) {
      this.logger.warn("listing nodes for event relay failed", { err });
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.refresh(), this.refreshMs);
  }

  private follow(node: string): void {
    const abort = new AbortController();
    this.streams.set(node, abort);
    // Ask for what happened while nobody listened; the incident log keeps each event once.
    let sinceMs = this.clock.now() - this.replayMs;
    void (async () => {
      for (let delay = 500; !abort.signal.aborted; delay = Math.min(delay * 2, 30_000)) {
        try {
          const agent = await this.agents.forNode(node);
          await agent.watchEvents(
            { sinceMs },
            (event) => {
              sinceMs = Math.max(sinceMs, event.atMs);
              void this.record(event);
            },
            abort.signal,
          );
          delay = 500;
        } catch (err) {
          this.logger.debug("event stream from agent broke; reopening", { node, err });
        }
        if (!abort.signal.aborted) await new Promise((r) => setTimeout(r, delay));
      }
    })();
  }

  private async record(event: agentV1.Event): Promise<void> {
    const meta = KINDS[event.kind];
    if (!meta) return;
    try {
      await recordIncident(this.pool, {
        at: new Date(event.atMs || this.clock.now()),
        node: event.node,
        vmid: event.vmid || null,
        kind: meta.kind,
        severity: meta.severity,
        detail: event.detail,
        sourceKey: `${event.node}|${event.atMs}|${event.kind}|${event.vmid}|${event.requestId}|${event.detail}`,
      });
    } catch (err) {
      this.logger.error("recording an agent event failed", { err, node: event.node });
    }
  }
}
