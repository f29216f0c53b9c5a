import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { certificateExpirySeconds } from "@lockstep/shared";
import type { EventBus } from "../events/event-bus.js";
import type { ClusterFsState } from "../node/cluster-fs.js";
import { HealthSampler } from "./health-sampler.js";
import type { PctObserver } from "./timed-pct-runner.js";

/** What the RPC wrappers report: one call, its outcome, and whether it was a replay. */
export interface RpcObserver {
  observe(method: string, outcome: string, replayed: boolean): void;
}

/** The part of the node's probe (health/node-probe.ts) that the gauges show. */
export interface HealthSample {
  readonly pctResponsive: boolean;
  readonly clusterFsState: ClusterFsState;
}

/** Where the node's gauges read, at scrape time. */
export interface NodeSources {
  readonly node: string;
  readonly version: string;
  /** Mutating operations running now. */
  running(): number;
  /**
   * The request store's records, the bound past which it evicts finished ones before their
   * retention, and the damaged records it has set aside since the agent started.
   */
  requestStore(): { readonly records: number; readonly maxRecords: number; readonly quarantined: number };
  /** The node's probe, as Health runs it (through the serving monitor, which it also keeps current). */
  health(): Promise<HealthSample>;
  /** How long a scrape waits for a health probe before it reports the last answer. */
  readonly healthWaitMs: number;
  /** PEM files the agent loaded at start, by the `certificate` label (node, ca). */
  readonly certificates: Readonly<Record<string, string>>;
}

const CLUSTER_FS_STATES: readonly ClusterFsState[] = ["ok", "unresponsive", "not-mounted", "no-quorum"];

/**
 * The agent's Prometheus metrics: RPCs by outcome, dedup replays, node events, `pct` calls
 * timed, and, once `watchNode` is called, the node's state: operations running, `pct` and
 * pmxcfs as the health probe finds them, the request store's fill and the certificates' expiry.
 */
export class AgentMetrics implements RpcObserver, PctObserver {
  readonly registry = new Registry();
  private readonly rpcs = new Counter({
    name: "lockstep_agent_rpcs_total",
    help: "RPCs by method and outcome (OK or the reason code)",
    labelNames: ["method", "outcome"],
    registers: [this.registry],
  });
  private readonly replays = new Counter({
    name: "lockstep_agent_dedup_replays_total",
    help: "Mutating RPCs answered from the durable request record instead of running again",
    labelNames: ["method"],
    registers: [this.registry],
  });
  private readonly events = new Counter({
    name: "lockstep_agent_events_total",
    help: "Node events by kind (lock detected, cleared, blocked; pct unresponsive; interrupted operations; policy refusals)",
    labelNames: ["kind"],
    registers: [this.registry],
  });
  private readonly policyRefusals = new Counter({
    name: "lockstep_agent_policy_refusals_total",
    help: "Requests the node's policy (policyFile) refused with PERMISSION_DENIED, by the first rule they broke",
    labelNames: ["rule"],
    registers: [this.registry],
  });
  private readonly pct = new Histogram({
    name: "lockstep_agent_pct_duration_seconds",
    help: "pct calls by subcommand and outcome (ok, exit-nonzero, or the reason code of a call that did not end on its own)",
    labelNames: ["command", "outcome"],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });

  constructor(bus: EventBus) {
    collectDefaultMetrics({ register: this.registry, prefix: "lockstep_agent_" });
    bus.subscribe((event) => {
      this.events.inc({ kind: event.kind });
      if (event.kind === "policy-refused") this.policyRefusals.inc({ rule: event.rule ?? "unknown" });
    });
  }

  observe(method: string, outcome: string, replayed: boolean): void {
    this.rpcs.inc({ method, outcome });
    if (replayed) this.replays.inc({ method });
  }

  observePct(command: string, outcome: string, seconds: number): void {
    this.pct.observe({ command, outcome }, seconds);
  }

  /** Registers the node's gauges; called once, when the agent has everything they read. */
  watchNode(sources: NodeSources): void {
    const registers = [this.registry];
    new Gauge({
      name: "lockstep_agent_info",
      help: "Always 1; the node the agent serves and its version, to join other series on",
      labelNames: ["node", "version"],
      registers,
    }).set({ node: sources.node, version: sources.version }, 1);
    new Gauge({
      name: "lockstep_agent_operations_running",
      help: "Mutating operations running now",
      registers,
      collect() {
        this.set(sources.running());
      },
    });
    new Gauge({
      name: "lockstep_agent_request_store_records",
      help: "Request records held (running and finished within their retention)",
      registers,
      collect() {
        this.set(sources.requestStore().records);
      },
    });
    new Gauge({
      name: "lockstep_agent_request_store_max_records",
      help: "Records the request store holds at most; past it finished records are evicted before their retention, and a retry after that runs again",
      registers,
      collect() {
        this.set(sources.requestStore().maxRecords);
      },
    });
    new Counter({
      name: "lockstep_agent_request_records_quarantined_total",
      help: "Request log lines that failed their checksum and were set aside in requests.quarantine since the agent started; each one's request is answered INTERRUPTED once",
      registers,
      collect() {
        this.reset();
        this.inc(sources.requestStore().quarantined);
      },
    });
    const sampler = new HealthSampler(sources.health, sources.healthWaitMs);
    new Gauge({
      name: "lockstep_agent_pct_responsive",
      help: "1 while pct answers the health probe (pct list within the probe timeout), else 0",
      registers,
      async collect() {
        const sample = await sampler.read();
        if (sample) this.set(sample.pctResponsive ? 1 : 0);
      },
    });
    new Gauge({
      name: "lockstep_agent_pmxcfs_state",
      help: "The cluster filesystem (/etc/pve, pmxcfs) as the health probe finds it: 1 for the current state, 0 for the others",
      labelNames: ["state"],
      registers,
      async collect() {
        const sample = await sampler.read();
        if (sample) for (const state of CLUSTER_FS_STATES) this.set({ state }, sample.clusterFsState === state ? 1 : 0);
      },
    });
    // Read once: the agent serves the certificate it loaded at start until it is restarted.
    const expiry = new Gauge({
      name: "lockstep_agent_tls_certificate_expiry_timestamp_seconds",
      help: "When each certificate the agent loaded at start expires (notAfter), by certificate (node, ca)",
      labelNames: ["certificate"],
      registers,
    });
    for (const [certificate, file] of Object.entries(sources.certificates))
      expiry.set({ certificate }, certificateExpirySeconds(file));
  }
}
