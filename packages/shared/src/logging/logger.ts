import { AsyncLocalStorage } from "node:async_hooks";
import { pino, type DestinationStream, type Logger as Pino } from "pino";
import pretty from "pino-pretty";

/** Severity of a log entry. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** JSON lines (for journald and log shippers), or readable lines for a person at a terminal. */
export type LogFormat = "json" | "pretty";

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

// Field names whose values are secrets: they are replaced before anything is written.
const SECRET_FIELD = /pass(word)?|secret|token|authorization|api[-_]?key|private[-_]?key|credential/i;

// The same, as pino's own redaction of the places secrets usually sit (an HTTP request's
// headers, a config object); `redact` below is the net for every other depth and for text.
const REDACT_PATHS = [
  "authorization",
  "password",
  "token",
  "secret",
  "*.authorization",
  "*.password",
  "*.token",
  "*.secret",
  "headers.authorization",
  "*.headers.authorization",
];

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
    .replace(
      /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g,
      "[redacted private key]",
    );
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

/**
 * One pino instance per destination. The request or job scope comes in through a mixin over
 * AsyncLocalStorage; the fields of a call win over it. Every entry goes through `redact`.
 */
function basePino(destination: DestinationStream, minLevel: LogLevel | "silent"): Pino {
  return pino(
    {
      level: minLevel,
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }), log: (entry) => redact(entry) as Record<string, unknown> },
      mixin: () => ({ ...scope.getStore() }),
      // `redact` already made any Error its name and scrubbed message; pino's own `err`
      // serializer would add the stack back.
      serializers: { err: (value: unknown) => value },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    },
    destination,
  );
}

/**
 * Our `Logger` over a pino instance. A child keeps its fields itself and hands them to pino
 * with each call's fields, rather than as pino bindings: pino writes bindings and a call's
 * fields side by side, so a name given by both (`node`, `component`) would appear twice in
 * one line.
 */
function over(base: Pino, bound: LogFields): Logger {
  const at = (level: LogLevel) => (msg: string, fields?: LogFields) => {
    if (base.isLevelEnabled(level)) base[level]({ ...bound, ...fields }, scrubSecrets(msg));
  };
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (fields) => over(base, { ...bound, ...fields }),
  };
}

/** A logger that hands each entry, as written, to `sink`. */
export function createLogger(
  sink: (entry: LogEntry) => void,
  minLevel: LogLevel = "info",
  bound: LogFields = {},
): Logger {
  return over(basePino({ write: (line: string) => sink(JSON.parse(line) as LogEntry) }, minLevel), bound);
}

/** A logger that writes nothing, for components whose caller gave none. */
export function silentLogger(): Logger {
  return over(basePino({ write: () => undefined }, "silent"), {});
}

/**
 * A process's logger on a stream: JSON lines (a daemon under systemd, whose journal and
 * shippers parse them), or pino-pretty's readable lines for a person at a terminal.
 */
export function createStreamLogger(
  stream: NodeJS.WritableStream & { isTTY?: boolean },
  options: { level?: LogLevel; format?: LogFormat; bound?: LogFields } = {},
): Logger {
  const destination =
    options.format === "pretty"
      ? pretty({
          destination: stream,
          sync: true,
          colorize: stream.isTTY === true,
          translateTime: "SYS:yyyy-mm-dd HH:MM:ss.l",
        })
      : stream;
  return over(basePino(destination, options.level ?? "info"), options.bound ?? {});
}

/** `auto`: readable lines when the stream is a terminal, JSON lines otherwise (systemd, a pipe, a file). */
export function resolveLogFormat(setting: LogFormat | "auto", stream: { isTTY?: boolean }): LogFormat {
  return setting === "auto" ? (stream.isTTY === true ? "pretty" : "json") : setting;
}

/** A logger that keeps its entries, for tests that assert on what was logged. */
export function createMemoryLogger(minLevel: LogLevel = "debug"): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return Object.assign(
    createLogger((entry) => entries.push(entry), minLevel),
    { entries },
  );
}
