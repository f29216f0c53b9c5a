import { createHash } from "node:crypto";

/** JSON with object keys sorted at every depth, so equal bodies fingerprint equally. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * SHA-256 of method, path and canonical body: what tells a replay (same request again) from
 * a reuse (the key sent with another request). A body that is not JSON counts as its bytes.
 */
export function requestFingerprint(method: string, path: string, body: string): string {
  let normal = body;
  try {
    normal = body.trim() === "" ? "" : canonical(JSON.parse(body));
  } catch {
    normal = body;
  }
  return createHash("sha256")
    .update(JSON.stringify([method, path, normal]))
    .digest("hex");
}
