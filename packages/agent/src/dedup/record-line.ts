import { knownReasonCode } from "./failure-policy.js";
import type { RequestStatus, StoredError } from "./request-record.js";

/** First line of every log file: names the format so that a future layout can be told apart. */
export const LOG_HEADER = JSON.stringify({ format: "lockstep-agent-requests", version: 1 });

/** One record as a log line carries it; the outcome stays JSON text until someone reads it. */
export interface RecordFields {
  readonly method: string;
  readonly vmid: number | undefined;
  readonly fingerprint: string;
  readonly status: RequestStatus;
  readonly startedMs: number;
  /** 0 while running. */
  readonly finishedMs: number;
  /** JSON text of the value (succeeded) or of the StoredError (failed, interrupted). */
  readonly outcome: string | undefined;
}

const STATUSES: readonly RequestStatus[] = ["running", "succeeded", "failed", "interrupted"];
const FINGERPRINT = /^[0-9a-f]{64}$/;

/**
 * One JSON line: the fixed fields first, then `value` or `error` spliced in as the JSON
 * text already held, so a large response is never parsed and re-serialized to be logged.
 */
export function encodeRecordLine(requestId: string, fields: RecordFields): string {
  const { method, vmid, fingerprint, status, startedMs, finishedMs, outcome } = fields;
  const head = JSON.stringify({ requestId, method, vmid, fingerprint, status, startedMs, finishedMs: status === "running" ? undefined : finishedMs });
  if (outcome === undefined) return head;
  return `${head.slice(0, -1)},"${status === "succeeded" ? "value" : "error"}":${outcome}}`;
}

/** Parses a log line; throws (SyntaxError, TypeError) when it is not a whole, well-formed record. */
export function decodeRecordLine(text: string): { requestId: string; fields: RecordFields } {
  const raw: unknown = JSON.parse(text);
  if (typeof raw !== "object" || raw === null) throw new TypeError("record is not an object");
  const r = raw as Record<string, unknown>;
  const status = STATUSES.find((s) => s === r.status);
  if (typeof r.requestId !== "string" || typeof r.method !== "string" || !status) throw new TypeError("record lacks requestId, method or status");
  if (typeof r.fingerprint !== "string" || !FINGERPRINT.test(r.fingerprint)) throw new TypeError("record fingerprint is not a hex SHA-256");
  if (r.vmid !== undefined && !Number.isInteger(r.vmid)) throw new TypeError("record vmid is not an integer");
  if (typeof r.startedMs !== "number" || (status !== "running" && typeof r.finishedMs !== "number")) throw new TypeError("record times are missing");
  return {
    requestId: r.requestId,
    fields: {
      method: r.method,
      vmid: r.vmid as number | undefined,
      fingerprint: r.fingerprint,
      status,
      startedMs: r.startedMs,
      finishedMs: status === "running" ? 0 : (r.finishedMs as number),
      outcome: status === "succeeded" ? outcomeText(r.value) : status === "running" ? undefined : JSON.stringify(storedError(r.error)),
    },
  };
}

function outcomeText(value: unknown): string | undefined {
  return value === undefined ? undefined : JSON.stringify(value);
}

function storedError(raw: unknown): StoredError {
  const e = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
  const metadata: Record<string, string> = {};
  if (typeof e.metadata === "object" && e.metadata !== null) {
    for (const [key, value] of Object.entries(e.metadata)) if (typeof value === "string") metadata[key] = value;
  }
  return { code: knownReasonCode(e.code), message: typeof e.message === "string" ? e.message : "", metadata };
}
