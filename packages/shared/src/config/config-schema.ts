/** How one configuration key is read and checked. */
export type KeySpec =
  | {
      readonly kind: "string";
      readonly default: string | null;
      readonly pattern?: RegExp;
      readonly describe?: string;
      /** An empty value is accepted as is: it turns the setting off. */
      readonly emptyTurnsOff?: boolean;
    }
  | { readonly kind: "int"; readonly default: number; readonly min: number; readonly max: number }
  | { readonly kind: "enum"; readonly default: string; readonly values: readonly string[] };

/** Where a raw value came from, for error messages that point at the right place. */
export type Source = "default" | "file" | "environment" | "flag";

/** A raw value with its origin. */
export interface RawValue {
  readonly value: unknown;
  readonly source: Source;
  readonly origin: string;
}

/** The configuration is wrong; the message names the key, where it came from and why. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Checks one raw value against its spec and returns the compiled value. */
function compileValue(key: string, spec: KeySpec, raw: RawValue | undefined): unknown {
  if (raw === undefined) {
    if (spec.default === null) throw new ConfigError(`${key} is required (set it in the config file or environment)`);
    return spec.default;
  }
  const where = raw.source === "default" ? "" : ` (from ${raw.origin})`;
  const fail = (why: string): never => {
    throw new ConfigError(`${key}${where} ${why}, got ${JSON.stringify(raw.value)}`);
  };
  switch (spec.kind) {
    case "string": {
      if (typeof raw.value !== "string") return fail("must be a string");
      if (raw.value.length === 0) return spec.emptyTurnsOff ? "" : fail("must be a non-empty string");
      if (spec.pattern && !spec.pattern.test(raw.value))
        return fail(`must be ${spec.describe ?? `like ${spec.pattern}`}`);
      return raw.value;
    }
    case "int": {
      const n = typeof raw.value === "string" && /^-?\d+$/.test(raw.value) ? Number(raw.value) : raw.value;
      if (typeof n !== "number" || !Number.isInteger(n) || n < spec.min || n > spec.max)
        return fail(`must be an integer from ${spec.min} to ${spec.max}`);
      return n;
    }
    case "enum": {
      if (typeof raw.value !== "string" || !spec.values.includes(raw.value))
        return fail(`must be one of ${spec.values.join(", ")}`);
      return raw.value;
    }
  }
}

/** `requestRetentionMs` → `LOCKSTEP_AGENT_REQUEST_RETENTION_MS`. */
export function envName(prefix: string, key: string): string {
  return `${prefix}_${key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase()}`;
}

/**
 * Compiles every key of `specs` from its sources, later sources winning: defaults, then the
 * file, then the environment (`<envPrefix>_<KEY>`), then flags. Unknown keys in the file are
 * errors, so a typo never silently falls back to a default.
 */
export function compileConfig<T>(
  specs: Readonly<Record<string, KeySpec>>,
  sources: {
    file?: { path: string; values: Record<string, unknown> };
    env: NodeJS.ProcessEnv;
    envPrefix: string;
    flags: Record<string, unknown>;
  },
): T {
  const unknown = Object.keys(sources.file?.values ?? {}).filter((key) => !(key in specs));
  if (unknown.length > 0)
    throw new ConfigError(
      `${unknown.join(", ")} (in ${sources.file!.path}) ${unknown.length === 1 ? "is not a known key" : "are not known keys"}`,
    );
  const compiled: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) {
    compiled[key] = compileValue(key, spec, rawValue(key, sources));
  }
  return compiled as T;
}

function rawValue(key: string, sources: Parameters<typeof compileConfig>[1]): RawValue | undefined {
  if (sources.flags[key] !== undefined) return { value: sources.flags[key], source: "flag", origin: "command line" };
  const env = envName(sources.envPrefix, key);
  if (sources.env[env] !== undefined) return { value: sources.env[env], source: "environment", origin: env };
  if (sources.file && sources.file.values[key] !== undefined)
    return { value: sources.file.values[key], source: "file", origin: sources.file.path };
  return undefined;
}
