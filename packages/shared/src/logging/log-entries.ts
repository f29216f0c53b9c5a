import type { LogEntry } from "./logger.js";

/**
 * The entries of a JSON-lines log as a Lockstep process writes it (its stdout under systemd,
 * or captured by a harness), skipping lines that are not entries (a crash's stack trace, a
 * tool's plain output). For tools and tests that read what a process said, by message and
 * field, whatever order the fields were written in.
 */
export function logEntries(text: string): LogEntry[] {
  const entries: LogEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const entry = JSON.parse(line) as Partial<LogEntry>;
      if (typeof entry.msg === "string" && typeof entry.level === "string") entries.push(entry as LogEntry);
    } catch {
      // A line cut short by a crash, or JSON that is not a log entry.
    }
  }
  return entries;
}

/** The first entry with this message, or undefined. */
export function logEntry(text: string, msg: string): LogEntry | undefined {
  return logEntries(text).find((entry) => entry.msg === msg);
}
