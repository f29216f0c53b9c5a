import { createHash } from "node:crypto";

// Keys that name the request rather than define it: a retry carries the same parameters
// under the same ID, so the ID itself must never enter the fingerprint.
const ID_KEYS = new Set(["requestId", "request_id"]);
const MAX_DEPTH = 64;

/**
 * Hex SHA-256 of the canonical encoding of a request's parameters (see `canonicalJson`),
 * with a top-level `requestId`/`request_id` left out. Two requests with equal parameters
 * get equal fingerprints whatever the order their fields were set in.
 */
export function fingerprintOf(params: unknown): string {
  const hash = createHash("sha256");
  encode(params, 0, (chunk) => hash.update(chunk, "utf8"));
  return hash.digest("hex");
}

/**
 * The canonical JSON text of a value: object keys sorted by UTF-16 code unit, no
 * whitespace, `undefined` members dropped (as JSON does), a top-level request ID left out,
 * bytes (`Uint8Array`, `Buffer`) as `{"bytes":"<base64>"}` (as the gRPC layer passes them),
 * bigints as plain integers. Refuses what JSON would silently mangle (NaN, Infinity, Map,
 * Set, cycles) with a TypeError, since a lossy encoding would let two different requests
 * share a fingerprint.
 */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  encode(value, 0, (chunk) => parts.push(chunk));
  return parts.join("");
}

function encode(value: unknown, depth: number, emit: (chunk: string) => void): void {
  if (depth > MAX_DEPTH) throw new TypeError(`request parameters nest deeper than ${MAX_DEPTH} levels (a cycle?)`);
  switch (typeof value) {
    case "string":
    case "boolean":
      return emit(JSON.stringify(value));
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`request parameters hold a non-finite number (${value})`);
      return emit(JSON.stringify(value));
    case "bigint":
      return emit(value.toString());
    case "undefined":
    case "function":
    case "symbol":
      return emit("null");
    default:
      return encodeObject(value as object | null, depth, emit);
  }
}

function encodeObject(value: object | null, depth: number, emit: (chunk: string) => void): void {
  if (value === null) return emit("null");
  if (value instanceof Uint8Array)
    return emit(
      `{"bytes":${JSON.stringify(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64"))}}`,
    );
  if (value instanceof Map || value instanceof Set)
    throw new TypeError("request parameters hold a Map or Set, which has no JSON form");
  if (Array.isArray(value)) return encodeArray(value, depth, emit);
  const withJson = value as { toJSON?: () => unknown };
  if (typeof withJson.toJSON === "function") return encode(withJson.toJSON(), depth + 1, emit);
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((key) => !(depth === 0 && ID_KEYS.has(key)) && isPresent(record[key]))
    .sort();
  emit("{");
  keys.forEach((key, i) => {
    emit(`${i === 0 ? "" : ","}${JSON.stringify(key)}:`);
    encode(record[key], depth + 1, emit);
  });
  emit("}");
}

function encodeArray(items: readonly unknown[], depth: number, emit: (chunk: string) => void): void {
  emit("[");
  items.forEach((item, i) => {
    if (i > 0) emit(",");
    encode(item, depth + 1, emit);
  });
  emit("]");
}

/** JSON drops members whose value is undefined, a function or a symbol; so does the canonical form. */
function isPresent(value: unknown): boolean {
  return value !== undefined && typeof value !== "function" && typeof value !== "symbol";
}
