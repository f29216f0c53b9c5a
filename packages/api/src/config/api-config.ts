import { compileConfig, ConfigError, envName, type KeySpec } from "@lockstep/shared";

/** The API's configuration, compiled once at start-up. */
export interface ApiConfig {
  readonly databaseUrl: string;
  readonly listen: string;
  readonly logLevel: "debug" | "info" | "warn" | "error";
  /** `auto`: readable lines on a terminal, JSON lines otherwise (systemd, a pipe). */
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
  /** A secret: never logged, never echoed in errors. */
  readonly pagerdutyRoutingKey: string;
  readonly pagerdutyUrl: string;
  readonly healthIntervalMs: number;
  readonly healthProbeTimeoutMs: number;
  readonly unreachableAlertMs: number;
  /** Lockstep snapshots kept per container; a container's spec may override it. */
  readonly snapshotKeepLast: number;
  readonly reconcileIntervalMs: number;
  readonly reconcileMissing: "mark-failed" | "recreate";
  readonly reconcileOrphans: "report" | "destroy";
  readonly reconcileOrphanGraceMs: number;
  /** `mtls` always, except `plaintext-loopback` for agents on 127.0.0.1 / ::1 in development. */
  readonly agentTransport: "mtls" | "plaintext-loopback";
  /** The cluster CA agents' certificates must chain to, and the API's client certificate. */
  readonly agentTlsCa: string;
  readonly agentTlsCert: string;
  /** A secret: never logged. */
  readonly agentTlsKey: string;
  readonly maxBodyBytes: number;
  readonly maxHeaderBytes: number;
  readonly ratePerSecond: number;
  readonly rateBurst: number;
}

const MIN = 60_000;
const MIB = 1024 * 1024;
const optionalPath: KeySpec = { kind: "string", default: "", pattern: /^\/[^\0]*$/, describe: "an absolute path" };

const SPECS: Record<keyof ApiConfig, KeySpec> = {
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
};

/**
 * Reads the configuration from flags and LOCKSTEP_API_* variables; the database URL also
 * from LOCKSTEP_DATABASE_URL. Error messages name the key but never echo the URL (it holds
 * a password).
 */
export function loadApiConfig(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): ApiConfig {
  const merged = { ...env, LOCKSTEP_API_DATABASE_URL: env.LOCKSTEP_API_DATABASE_URL ?? env.LOCKSTEP_DATABASE_URL };
  try {
    const config = compileConfig<ApiConfig>(SPECS, { env: merged, envPrefix: "LOCKSTEP_API", flags });
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
    return config;
  } catch (err) {
    if (err instanceof ConfigError && err.message.startsWith("databaseUrl")) {
      throw new ConfigError(
        err.message.replace(/, got .*$/, "").replace("is required", "is required (set LOCKSTEP_DATABASE_URL)"),
      );
    }
    throw err;
  }
}
