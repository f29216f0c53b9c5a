import { compileConfig, ConfigError, type KeySpec } from "@lockstep/shared";

/** The API's configuration, compiled once at start-up. */
export interface ApiConfig {
  readonly databaseUrl: string;
  readonly listen: string;
  readonly logLevel: "debug" | "info" | "warn" | "error";
  readonly idempotencyRetentionMs: number;
  readonly idempotencyAbandonedAfterMs: number;
  readonly shutdownDrainMs: number;
}

const MIN = 60_000;

const SPECS: Record<keyof ApiConfig, KeySpec> = {
  databaseUrl: { kind: "string", default: null, pattern: /^mysql:\/\/[^\s]+$/, describe: "a mysql:// URL" },
  listen: { kind: "string", default: "127.0.0.1:8080", pattern: /^(\[[0-9a-fA-F:]+\]|[a-zA-Z0-9.-]+):\d{1,5}$/, describe: "host:port" },
  logLevel: { kind: "enum", default: "info", values: ["debug", "info", "warn", "error"] },
  idempotencyRetentionMs: { kind: "int", default: 24 * 60 * MIN, min: MIN, max: 30 * 24 * 60 * MIN },
  idempotencyAbandonedAfterMs: { kind: "int", default: 5 * MIN, min: 1_000, max: 24 * 60 * MIN },
  shutdownDrainMs: { kind: "int", default: 30_000, min: 0, max: 10 * MIN },
};

/**
 * Reads the configuration from flags and LOCKSTEP_API_* variables; the database URL also
 * from LOCKSTEP_DATABASE_URL. Error messages name the key but never echo the URL (it holds
 * a password).
 */
export function loadApiConfig(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): ApiConfig {
  const merged = { ...env, LOCKSTEP_API_DATABASE_URL: env.LOCKSTEP_API_DATABASE_URL ?? env.LOCKSTEP_DATABASE_URL };
  try {
    return compileConfig<ApiConfig>(SPECS, { env: merged, envPrefix: "LOCKSTEP_API", flags });
  } catch (err) {
    if (err instanceof ConfigError && err.message.startsWith("databaseUrl")) {
      throw new ConfigError(err.message.replace(/, got .*$/, "").replace("is required", "is required (set LOCKSTEP_DATABASE_URL)"));
    }
    throw err;
  }
}
