import type { Policy } from "@lockstep/shared";
import type { NodeLimits, PctTimeouts, VerifyPolicy } from "../node/node-context.js";
import type { NodePaths } from "../node/node-paths.js";

/**
 * The agent's configuration, compiled once at start-up (config/load-config.ts) and passed in;
 * never a global. Settings are written flat (`pctCreateTimeoutMs` in agent.json,
 * LOCKSTEP_AGENT_PCT_CREATE_TIMEOUT_MS, `--pct-create-timeout-ms`) and held here in the
 * groups their users take whole.
 */
export interface AgentConfig {
  readonly node: string;
  /** Set when running against a simulated node rooted here. */
  readonly simulate: string | null;
  readonly transport: TransportConfig;
  /** Where the node keeps what the agent reads, and what `pct` runs with beyond PATH. */
  readonly paths: NodePaths;
  /** The agent's own durable state: the request store and the operation intents. */
  readonly stateDir: string;
  readonly logging: LoggingConfig;
  readonly requests: RequestsConfig;
  readonly locks: LocksConfig;
  readonly pct: PctConfig;
  readonly verify: VerifyPolicy;
  readonly limits: NodeLimits;
  readonly health: HealthConfig;
  /** Where `GET /metrics` (Prometheus) listens; empty turns it off. */
  readonly metricsListen: string;
  readonly operations: OperationsConfig;
  /** How far past its live data the JS heap may grow before a full collection; 0 is V8's own choice. */
  readonly heapGrowthPercent: number;
  /**
   * What a request may make a container (`policyFile`; DEFAULT_POLICY without one): checked
   * by the agent itself on every create, clone and config change, whatever the API checked.
   */
  readonly policy: Policy;
  readonly executor: ExecutorConfig;
}

/**
 * Where the root executor listens and who may call it. An empty socket runs everything in one
 * process (development, the simulator); the package runs the two units.
 */
export interface ExecutorConfig {
  readonly socket: string;
  /** The network process's user, the only one besides root that the executor lets in. */
  readonly user: string;
}

export interface TransportConfig {
  readonly listen: string;
  /** `mtls` always, except `plaintext-loopback` for development on 127.0.0.1 / ::1. */
  readonly kind: "mtls" | "plaintext-loopback";
  /** The cluster CA (PEM) that client certificates must chain to. */
  readonly ca: string;
  /** This node's certificate and key (PEM); the key is a secret and never logged. */
  readonly cert: string;
  readonly key: string;
  /** Client certificate names (CN or DNS SAN) let in; empty lets in every client of the CA. */
  readonly allowedClients: readonly string[];
  readonly maxMessageBytes: number;
}

export interface LoggingConfig {
  readonly level: "debug" | "info" | "warn" | "error";
  /** `auto`: readable lines on a terminal, JSON lines otherwise (systemd, a pipe). */
  readonly format: "auto" | "json" | "pretty";
}

/** The durable request store: how long a finished request is remembered, and how many at most. */
export interface RequestsConfig {
  readonly retentionMs: number;
  readonly maxRecords: number;
}

export interface LocksConfig {
  /** Re-inspections of a held lock before LOCK_HELD, with backoff between them. */
  readonly retries: number;
  readonly backoffMs: number;
  readonly backoffMaxMs: number;
  /** How long a `lock:` must stay without any possible owner before it is STALE. */
  readonly staleGraceMs: number;
}

export interface PctConfig {
  readonly timeouts: PctTimeouts;
  /** How long pct has after SIGTERM before its process group is killed. */
  readonly terminateGraceMs: number;
}

export interface HealthConfig {
  readonly probeTimeoutMs: number;
  /** How old the last probe of pct and /etc/pve may grow before the health service probes again. */
  readonly intervalMs: number;
  /** Bound on each read or write of /etc/pve; one that passes marks it unresponsive. */
  readonly clusterFsTimeoutMs: number;
  /** Bound on the look at `/etc/pve/local` (mounted? quorate?) that Health and every mutation make. */
  readonly clusterFsProbeTimeoutMs: number;
}

export interface OperationsConfig {
  /** Mutating RPCs running at once on this node; more are refused with RESOURCE_EXHAUSTED. */
  readonly maxConcurrent: number;
  /** How long a stopping agent lets running operations finish before it interrupts them. */
  readonly shutdownDrainMs: number;
}
