/** A level of pve-guest-common AbstractMigrate.pm `log`. */
export type MigrationLogLevel = "info" | "warn" | "err";

const pad = (n: number): string => String(n).padStart(2, "0");

/**
 * pve-guest-common AbstractMigrate.pm `$msg2text`: every line of `msg` prefixed with
 * `strftime("%F %H:%M:%S", localtime)`, and ` ERROR:` for level `err`; nothing for an empty message.
 */
export function migrationLogText(level: MigrationLogLevel, msg: string, now = new Date()): string {
  const text = msg.replace(/\n$/, "");
  if (!text) return "";
  const stamp = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())} ${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}`;
  const prefix = level === "err" ? `${stamp} ERROR:` : stamp;
  return text
    .split("\n")
    .map((line) => `${prefix} ${line}\n`)
    .join("");
}

/** AbstractMigrate.pm `migrate`'s duration: `%02d:%02d:%02d` of whole seconds. */
export function migrationDuration(ms: number): string {
  const secs = Math.floor(ms / 1000);
  return `${pad(Math.floor(secs / 3600))}:${pad(Math.floor(secs / 60) % 60)}:${pad(secs % 60)}`;
}
