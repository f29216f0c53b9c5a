/** The agent's configuration, compiled once at start-up and passed in; never a global. */
export interface AgentConfig {
  readonly node: string;
  readonly listen: string;
  /** `mtls` always, except `plaintext-loopback` for development on 127.0.0.1 / ::1. */
  readonly transport: "mtls" | "plaintext-loopback";
  /** The cluster CA (PEM) that client certificates must chain to. */
  readonly tlsCa: string;
  /** This node's certificate and key (PEM); the key is a secret and never logged. */
  readonly tlsCert: string;
  readonly tlsKey: string;
  /** Client certificate names (CN or DNS SAN) let in; empty lets in every client of the CA. */
  readonly tlsAllowedClients: readonly string[];
  /** Set when running against a simulated node rooted here. */
  readonly simulate: string | null;
  /** What the node's `pct` runs with beyond PATH: a simulated node's settings, nothing on a real one. */
  readonly nodeEnv: Readonly<Record<string, string>>;
  readonly pctPath: string;
  readonly lockDir: string;
  readonly configDir: string;
  readonly tasksActive: string;
  readonly migrationLockDir: string;
  readonly procRoot: string;
  readonly stateDir: string;
  readonly logLevel: "debug" | "info" | "warn" | "error";
  /** `auto`: readable lines on a terminal, JSON lines otherwise (systemd, a pipe). */
  readonly logFormat: "auto" | "json" | "pretty";
  readonly requestRetentionMs: number;
  readonly maxRequestRecords: number;
  readonly lockRetries: number;
  readonly lockBackoffMs: number;
  readonly lockBackoffMaxMs: number;
  readonly lockStaleGraceMs: number;
  readonly pctReadTimeoutMs: number;
  readonly pctCreateTimeoutMs: number;
  /** How long pct has after SIGTERM before its process group is killed. */
  readonly pctTerminateGraceMs: number;
  readonly pctDestroyTimeoutMs: number;
  readonly pctPowerTimeoutMs: number;
  readonly pctSnapshotTimeoutMs: number;
  readonly pctPushTimeoutMs: number;
  readonly execDefaultTimeoutMs: number;
  readonly execMaxTimeoutMs: number;
  readonly probeTimeoutMs: number;
  /** How old the last probe of pct and /etc/pve may grow before the health service probes again. */
  readonly healthIntervalMs: number;
  /** Bound on each read or write of /etc/pve; one that passes marks it unresponsive. */
  readonly clusterFsTimeoutMs: number;
  /** Bound on the look at `/etc/pve/local` (mounted? quorate?) that Health and every mutation make. */
  readonly clusterFsProbeTimeoutMs: number;
  readonly verifyAttempts: number;
  readonly verifyInitialDelayMs: number;
  readonly verifyMaxDelayMs: number;
  readonly execOutputBytes: number;
  readonly pushBytes: number;
  readonly grpcMaxMessageBytes: number;
  /** Where `GET /metrics` (Prometheus) listens; empty turns it off. */
  readonly metricsListen: string;
  /** Mutating RPCs running at once on this node; more are refused with RESOURCE_EXHAUSTED. */
  readonly maxConcurrentOperations: number;
  readonly shutdownDrainMs: number;
}
