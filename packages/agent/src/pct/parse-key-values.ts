import { decodeText } from "./decode-text.js";

/**
 * Parses the `key: value` lines that `pct config` and `pct status --verbose` print.
 * `description` comes percent-escaped (`:` `%` and control characters) and is decoded.
 */
export function parseKeyValues(stdout: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    values[key] = key === "description" ? decodeText(value) : value;
  }
  return values;
}

/** `pct status`: `status: running` or `status: stopped`. */
export function parseStatus(stdout: string): "running" | "stopped" {
  const status = parseKeyValues(stdout).status;
  if (status !== "running" && status !== "stopped")
    throw new Error(`unexpected pct status output: ${JSON.stringify(stdout.trim())}`);
  return status;
}
