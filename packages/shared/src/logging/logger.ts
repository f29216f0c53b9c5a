import { AsyncLocalStorage } from "node:async_hooks";

/** Severity of a log entry. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Structured fields of a log entry. */
export type LogFields = Record<string, unknown>;

/**
 * The logger every component takes as an argument. `child` scopes fields (`{ vmid, requestId }`)
 * onto every entry that follows, so a line can always be traced to its request or job.
 */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

/** One written entry, as tests and sinks see it. */
export interface LogEntry extends LogFields {
  time: string;
  level: LogLevel;
  msg: string;
}

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

// Field names whose values are secrets: they are replaced before anything is written.
const SECRET_FIELD = /pass(word)?|secret|token|authorization|api[-_]?key|private[-_]?key|credential/i;

/** Replaces the values of secret-looking fields, and secrets inside text, recursively. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return scrubSecrets(value);
  if (depth > 6 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) return { name: value.name, message: scrubSecrets(value.message) };
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = SECRET_FIELD.test(key) ? "[redacted]" : redact(item, depth + 1);
  }
  return out;
}

/**
 * Secrets that travel inside text (an error quoting a connection URL or a header): the
 * password of a URL, the secret half of an API token, a PEM private key.
 */
export function scrubSecrets(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, "$1[redacted]@")
    .replace(/\b(lst_[0-9a-f]{12}_)[A-Za-z0-9_-]+/g, "$1[redacted]")
    .replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, "[redacted private key]");
}

const scope = new AsyncLocalStorage<LogFields>();

/**
 * Runs `work` with `fields` (a request ID, a job ID) on every entry any logger writes within
 * it, however deep the call and whichever logger the code below was handed. Nested scopes add
 * to the outer one.
 */
export function withLogFields<T>(fields: LogFields, work: () => T): T {
  return scope.run({ ...scope.getStore(), ...fields }, work);
}

/** A logger that hands each entry to `sink`; the base of the JSON and memory loggers. */
export function createLogger(sink: (entry: LogEntry) => void, minLevel: LogLevel = "info", bound: LogFields = {}): Logger {
  const write = (level: LogLevel, msg: string, fields?: LogFields): void => {
    if (LEVEL_RANK[level] < LEVEL_RANK[minLevel]) return;
    const merged = redact({ ...scope.getStore(), ...bound, ...fields }) as LogFields;
    sink({ time: new Date().toISOString(), level, msg: scrubSecrets(msg), ...merged });
  };
  return {
    debug: (msg, fields) => write("debug", msg, fields),
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
    child: (fields) => createLogger(sink, minLevel, { ...bound, ...fields }),
  };
}

/** JSON lines on a stream (stdout for daemons under systemd/journald). */
export function createJsonLogger(stream: NodeJS.WritableStream = process.stdout, minLevel: LogLevel = "info", bound: LogFields = {}): Logger {
  return createLogger((entry) => stream.write(`${JSON.stringify(entry)}\n`), minLevel, bound);
}

/** A logger that keeps its entries, for tests that assert on what was logged. */
export function createMemoryLogger(minLevel: LogLevel = "debug"): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return Object.assign(createLogger((entry) => entries.push(entry), minLevel), { entries });
}
