import {
  compileConfig,
  ConfigError,
  DEFAULT_POLICY,
  envName,
  readPolicyFile,
  type KeySpec,
  type Policy,
} from "@lockstep/shared";

/**
 * The API's configuration, compiled once at start-up and passed in. Settings are written flat
 * (LOCKSTEP_API_JOB_LEASE_MS, `--listen`) and held here in the groups their users take whole.
 */
export interface ApiConfig {
  readonly databaseUrl: string;
  readonly http: HttpConfig;
  readonly logging: {
    readonly level: "debug" | "info" | "warn" | "error";
    /** `auto`: readable lines on a terminal, JSON lines otherwise (systemd, a pipe). */
    readonly format: "auto" | "json" | "pretty";
  };
  readonly idempotency: { readonly retentionMs: number; readonly abandonedAfterMs: number };
  /** The ranges VMIDs and ports are handed out from. */
  readonly vmids: Range;
  readonly ports: Range;
  readonly jobs: JobsConfig;
  readonly agents: AgentsConfig;
  readonly alerts: AlertsConfig;
  readonly health: {
    readonly intervalMs: number;
    readonly probeTimeoutMs: number;
    /** How long an agent may be unreachable before it is an alert (a restart is not). */
    readonly unreachableAlertMs: number;
  };
  /** Lockstep snapshots kept per container; a container's spec may override it. */
  readonly snapshotKeepLast: number;
  readonly reconcile: {
    readonly intervalMs: number;
    readonly missing: "mark-failed" | "recreate";
    readonly orphans: "report" | "destroy";
    readonly orphanGraceMs: number;
  };
  readonly shutdownDrainMs: number;
  /** What a token without a policy of its own may ask for (`policyFile`; empty: DEFAULT_POLICY). */
  readonly policy: Policy;
}

export interface Range {
  readonly min: number;
  readonly max: number;
}

export interface HttpConfig {
  readonly listen: string;
  readonly maxBodyBytes: number;
  readonly maxHeaderBytes: number;
  readonly ratePerSecond: number;
  readonly rateBurst: number;
}

export interface JobsConfig {
  readonly maxAttempts: number;
  readonly pollMs: number;
  readonly concurrency: number;
  readonly leaseMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
}

export interface AgentsConfig {
  /** `mtls` always, except `plaintext-loopback` for agents on 127.0.0.1 / ::1 in development. */
  readonly transport: "mtls" | "plaintext-loopback";
  /** The cluster CA agents' certificates must chain to, and the API's client certificate and key (a secret: never logged). */
  readonly tls: { readonly ca: string; readonly cert: string; readonly key: string };
  readonly callTimeoutMs: number;
}

export interface AlertsConfig {
  readonly channel: "log" | "webhook" | "pagerduty";
  readonly webhookUrl: string;
  /** The routing key is a secret: never logged, never echoed in errors. */
  readonly pagerduty: { readonly routingKey: string; readonly url: string };
}

/** The settings as written (LOCKSTEP_API_<KEY>, flags), flat, so that each is named alike everywhere. */
interface ApiSettings {
  readonly databaseUrl: string;
  readonly listen: string;
  readonly logLevel: "debug" | "info" | "warn" | "error";
  readonly logFormat: "auto" | "json" | "pretty";
  readonly idempotencyRetentionMs: number;
  readonly idempotencyAbandonedAfterMs: number;
  readonly shutdownDrainMs: number;
  readonly vmidMin: number;
  readonly vmidMax: number;
  readonly portMin: number;
  readonly portMax: number;
  readonly jobMaxAttempts: number;
  readonly dispatchPollMs: number;
  readonly dispatchConcurrency: number;
  readonly jobLeaseMs: number;
  readonly jobBackoffBaseMs: number;
  readonly jobBackoffMaxMs: number;
  readonly agentCallTimeoutMs: number;
  readonly alertChannel: "log" | "webhook" | "pagerduty";
  readonly alertWebhookUrl: string;
  readonly pagerdutyRoutingKey: string;
  readonly pagerdutyUrl: string;
  readonly healthIntervalMs: number;
  readonly healthProbeTimeoutMs: number;
  readonly unreachableAlertMs: number;
  readonly snapshotKeepLast: number;
  readonly reconcileIntervalMs: number;
  readonly reconcileMissing: "mark-failed" | "recreate";
  readonly reconcileOrphans: "report" | "destroy";
  readonly reconcileOrphanGraceMs: number;
  readonly agentTransport: "mtls" | "plaintext-loopback";
  readonly agentTlsCa: string;
  readonly agentTlsCert: string;
  readonly agentTlsKey: string;
  readonly maxBodyBytes: number;
  readonly maxHeaderBytes: number;
  readonly ratePerSecond: number;
  readonly rateBurst: number;
  readonly policyFile: string;
}

const MIN = 60_000;
const MIB = 1024 * 1024;
const optionalPath: KeySpec = { kind: "string", default: "", pattern: /^\/[^\0]*$/, describe: "an absolute path" };

const SPECS: Record<keyof ApiSettings, KeySpec> = {
  databaseUrl: { kind: "string", default: null, pattern: /^mysql:\/\/[^\s]+$/, describe: "a mysql:// URL" },
  listen: {
    kind: "string",
    default: "127.0.0.1:8080",
    pattern: /^(\[[0-9a-fA-F:]+\]|[a-zA-Z0-9.-]+):\d{1,5}$/,
    describe: "host:port",
  },
  logLevel: { kind: "enum", default: "info", values: ["debug", "info", "warn", "error"] },
  logFormat: { kind: "enum", default: "auto", values: ["auto", "json", "pretty"] },
  idempotencyRetentionMs: { kind: "int", default: 24 * 60 * MIN, min: MIN, max: 30 * 24 * 60 * MIN },
  idempotencyAbandonedAfterMs: { kind: "int", default: 5 * MIN, min: 1_000, max: 24 * 60 * MIN },
  shutdownDrainMs: { kind: "int", default: 30_000, min: 0, max: 10 * MIN },
  vmidMin: { kind: "int", default: 10_000, min: 100, max: 999_999_999 },
  vmidMax: { kind: "int", default: 99_999, min: 100, max: 999_999_999 },
  portMin: { kind: "int", default: 20_000, min: 1, max: 65_535 },
  portMax: { kind: "int", default: 29_999, min: 1, max: 65_535 },
  jobMaxAttempts: { kind: "int", default: 8, min: 1, max: 100 },
  dispatchPollMs: { kind: "int", default: 500, min: 10, max: MIN },
  dispatchConcurrency: { kind: "int", default: 16, min: 1, max: 1000 },
  jobLeaseMs: { kind: "int", default: 30_000, min: 1_000, max: 60 * MIN },
  jobBackoffBaseMs: { kind: "int", default: 1_000, min: 10, max: 10 * MIN },
  jobBackoffMaxMs: { kind: "int", default: 60_000, min: 10, max: 60 * MIN },
  agentCallTimeoutMs: { kind: "int", default: 30_000, min: 100, max: 10 * MIN },
  alertChannel: { kind: "enum", default: "log", values: ["log", "webhook", "pagerduty"] },
  alertWebhookUrl: { kind: "string", default: "", pattern: /^https?:\/\/\S+$/, describe: "an http(s) URL" },
  pagerdutyRoutingKey: { kind: "string", default: "" },
  pagerdutyUrl: {
    kind: "string",
    default: "https://events.pagerduty.com/v2/enqueue",
    pattern: /^https?:\/\/\S+$/,
    describe: "an http(s) URL",
  },
  healthIntervalMs: { kind: "int", default: 15_000, min: 100, max: 10 * MIN },
  healthProbeTimeoutMs: { kind: "int", default: 10_000, min: 100, max: 5 * MIN },
  unreachableAlertMs: { kind: "int", default: 2 * MIN, min: 0, max: 24 * 60 * MIN },
  snapshotKeepLast: { kind: "int", default: 5, min: 1, max: 1000 },
  reconcileIntervalMs: { kind: "int", default: 5 * MIN, min: 1_000, max: 24 * 60 * MIN },
  reconcileMissing: { kind: "enum", default: "mark-failed", values: ["mark-failed", "recreate"] },
  reconcileOrphans: { kind: "enum", default: "destroy", values: ["report", "destroy"] },
  reconcileOrphanGraceMs: { kind: "int", default: 60 * MIN, min: 0, max: 30 * 24 * 60 * MIN },
  agentTransport: { kind: "enum", default: "mtls", values: ["mtls", "plaintext-loopback"] },
  agentTlsCa: optionalPath,
  agentTlsCert: optionalPath,
  agentTlsKey: optionalPath,
  maxBodyBytes: { kind: "int", default: 4 * MIB, min: 1024, max: 64 * MIB },
  maxHeaderBytes: { kind: "int", default: 16 * 1024, min: 1024, max: MIB },
  ratePerSecond: { kind: "int", default: 50, min: 1, max: 100_000 },
  rateBurst: { kind: "int", default: 100, min: 1, max: 1_000_000 },
  policyFile: optionalPath,
};

/**
 * Reads the configuration from flags and LOCKSTEP_API_* variables; the database URL also
 * from LOCKSTEP_DATABASE_URL. Error messages name the key but never echo the URL (it holds
 * a password).
 */
export function loadApiConfig(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): ApiConfig {
  const merged = { ...env, LOCKSTEP_API_DATABASE_URL: env.LOCKSTEP_API_DATABASE_URL ?? env.LOCKSTEP_DATABASE_URL };
  try {
    const config = compileConfig<ApiSettings>(SPECS, { env: merged, envPrefix: "LOCKSTEP_API", flags });
    if (config.vmidMax < config.vmidMin)
      throw new ConfigError(`vmidMax (${config.vmidMax}) must not be below vmidMin (${config.vmidMin})`);
    if (config.alertChannel === "webhook" && !config.alertWebhookUrl)
      throw new ConfigError("alertWebhookUrl is required when alertChannel is webhook");
    if (config.alertChannel === "pagerduty" && !config.pagerdutyRoutingKey)
      throw new ConfigError("pagerdutyRoutingKey is required when alertChannel is pagerduty");
    if (config.portMax < config.portMin)
      throw new ConfigError(`portMax (${config.portMax}) must not be below portMin (${config.portMin})`);
    if (config.agentTransport === "mtls") {
      for (const key of ["agentTlsCa", "agentTlsCert", "agentTlsKey"] as const) {
        if (!config[key])
          throw new ConfigError(
            `${key} is required with agentTransport mtls (set ${envName("LOCKSTEP_API", key)}; agentTransport plaintext-loopback is for loopback development only)`,
          );
      }
    }
    return grouped(config);
  } catch (err) {
    if (err instanceof ConfigError && err.message.startsWith("databaseUrl")) {
      throw new ConfigError(
        err.message.replace(/, got .*$/, "").replace("is required", "is required (set LOCKSTEP_DATABASE_URL)"),
      );
    }
    throw err;
  }
}

/** The settings in the groups their users take: built here once, never re-read elsewhere. */
function grouped(s: ApiSettings): ApiConfig {
  return {
    databaseUrl: s.databaseUrl,
    http: {
      listen: s.listen,
      maxBodyBytes: s.maxBodyBytes,
      maxHeaderBytes: s.maxHeaderBytes,
      ratePerSecond: s.ratePerSecond,
      rateBurst: s.rateBurst,
    },
    logging: { level: s.logLevel, format: s.logFormat },
    idempotency: { retentionMs: s.idempotencyRetentionMs, abandonedAfterMs: s.idempotencyAbandonedAfterMs },
    vmids: { min: s.vmidMin, max: s.vmidMax },
    ports: { min: s.portMin, max: s.portMax },
    jobs: {
      maxAttempts: s.jobMaxAttempts,
      pollMs: s.dispatchPollMs,
      concurrency: s.dispatchConcurrency,
      leaseMs: s.jobLeaseMs,
      backoffBaseMs: s.jobBackoffBaseMs,
      backoffMaxMs: s.jobBackoffMaxMs,
    },
    agents: {
      transport: s.agentTransport,
      tls: { ca: s.agentTlsCa, cert: s.agentTlsCert, key: s.agentTlsKey },
      callTimeoutMs: s.agentCallTimeoutMs,
    },
    alerts: {
      channel: s.alertChannel,
      webhookUrl: s.alertWebhookUrl,
      pagerduty: { routingKey: s.pagerdutyRoutingKey, url: s.pagerdutyUrl },
    },
    health: {
      intervalMs: s.healthIntervalMs,
      probeTimeoutMs: s.healthProbeTimeoutMs,
      unreachableAlertMs: s.unreachableAlertMs,
    },
    snapshotKeepLast: s.snapshotKeepLast,
    reconcile: {
      intervalMs: s.reconcileIntervalMs,
      missing: s.reconcileMissing,
      orphans: s.reconcileOrphans,
      orphanGraceMs: s.reconcileOrphanGraceMs,
    },
    shutdownDrainMs: s.shutdownDrainMs,
    policy: s.policyFile ? readPolicyFile(s.policyFile, "policyFile") : DEFAULT_POLICY,
  };
}
