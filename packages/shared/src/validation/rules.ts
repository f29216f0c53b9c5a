/**
 * Input rules shared by the API's edge validation and the agent's. Each check returns
 * null when the value is valid and otherwise the reason, phrased to follow the field name.
 * The rules are Proxmox's own where Proxmox has one (VMID, hostname, snapshot name).
 */

export const VMID_MIN = 100;
export const VMID_MAX = 999_999_999;

export function vmidProblem(value: unknown): string | null {
  if (typeof value !== "number" || !Number.isInteger(value)) return "must be an integer";
  if (value < VMID_MIN || value > VMID_MAX) return `must be between ${VMID_MIN} and ${VMID_MAX}`;
  return null;
}

// Proxmox's `dns-name` format: labels of letters, digits and inner hyphens.
const HOSTNAME_LABEL = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

export function hostnameProblem(value: unknown): string | null {
  if (typeof value !== "string" || value.length === 0) return "must be a non-empty string";
  if (value.length > 253) return "must be at most 253 characters";
  if (!value.split(".").every((label) => HOSTNAME_LABEL.test(label))) {
    return "must be a DNS name: labels of letters, digits and inner hyphens, separated by dots";
  }
  return null;
}

const SNAPSHOT_NAME = /^[a-zA-Z][a-zA-Z0-9_-]+$/;
const RESERVED_SNAPSHOT_NAMES = new Set(["current", "vzdump"]);

export function snapshotNameProblem(value: unknown): string | null {
  if (typeof value !== "string") return "must be a string";
  if (value.length < 2 || value.length > 40) return "must be 2 to 40 characters";
  if (!SNAPSHOT_NAME.test(value)) return "must start with a letter and hold only letters, digits, '_' and '-'";
  if (RESERVED_SNAPSHOT_NAMES.has(value.toLowerCase())) return `'${value}' is reserved by Proxmox`;
  return null;
}

// Letters, digits and the punctuation real file names use: no spaces, quotes, newlines or
// shell metacharacters, so a path stays one harmless word wherever it is shown or passed.
const PATH_CHARS = /^[A-Za-z0-9._@%+=:,~/-]+$/;

/** A path inside a container: absolute, normalized, no `..`, no NUL, plain characters, bounded. */
export function containerPathProblem(value: unknown): string | null {
  if (typeof value !== "string" || value.length === 0) return "must be a non-empty string";
  if (value.length > 4096) return "must be at most 4096 characters";
  if (value.includes("\0")) return "must not contain NUL";
  if (!value.startsWith("/")) return "must be absolute";
  if (!PATH_CHARS.test(value))
    return "must hold only letters, digits and . _ - + @ % = : , ~ / (no spaces, quotes or shell metacharacters)";
  if (value !== "/" && value.endsWith("/")) return "must name a file, not end with '/'";
  const parts = value.split("/").slice(1);
  if (parts.some((part) => part === "..")) return "must not contain '..'";
  if (parts.some((part) => part === "." || part === "")) return "must be normalized (no '.' or empty segments)";
  return null;
}

// Never a leading '-': systemctl would read the name as an option.
const UNIT_NAME = /^[a-zA-Z0-9:_.@][a-zA-Z0-9:_.@-]*\.(service|socket|timer|target|path|mount)$/;

export function unitNameProblem(value: unknown): string | null {
  if (typeof value !== "string") return "must be a string";
  if (value.length > 255) return "must be at most 255 characters";
  if (!UNIT_NAME.test(value)) return "must be a systemd unit name such as 'app.service'";
  return null;
}

/** A request ID: opaque to the agent, but bounded and printable so it is safe in logs and files. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export function requestIdProblem(value: unknown): string | null {
  if (typeof value !== "string") return "must be a string";
  if (!REQUEST_ID.test(value)) return "must be 8 to 128 characters of letters, digits, '.', '_', ':' and '-'";
  return null;
}
