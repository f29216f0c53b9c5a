import { createHash } from "node:crypto";
import { requestIdProblem } from "@lockstep/shared";
import { knownReasonCode } from "./failure-policy.js";
import type { RequestStatus, StoredError } from "./request-record.js";

/** The layouts of the log: 1 held bare JSON lines, 2 adds the checksum and the framing IDs. */
export type LogFormat = 1 | 2;

const FORMAT_NAME = "lockstep-agent-requests";

/**
 * First line of a log file: names the format so that a future layout can be told apart. From
 * format 2 on it carries the SHA-256 of its JSON, so that a damaged version number is seen as
 * damage and not taken for a format this agent must refuse.
 */
export function logHeader(format: LogFormat): string {
  const json = JSON.stringify({ format: FORMAT_NAME, version: format });
  return format === 1 ? json : `${json} ${sha256(json)}`;
}

/**
 * The format an intact header names: a number (possibly newer than this agent knows), or
 * undefined when the line is no intact header.
 */
export function headerVersion(text: string): number | undefined {
  if (text === logHeader(1)) return 1;
  const space = text.lastIndexOf(" ");
  const json = text.slice(0, space);
  if (space < 0 || sha256(json) !== text.slice(space + 1)) return undefined;
  try {
    const { format, version } = JSON.parse(json) as Record<string, unknown>;
    return format === FORMAT_NAME && Number.isInteger(version) && (version as number) >= 2
      ? (version as number)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The format every log is written in. */
export const CURRENT_FORMAT: LogFormat = 2;

/** One record as a log line carries it; the outcome stays JSON text until someone reads it. */
export interface RecordFields {
  readonly method: string;
  readonly vmid: number | undefined;
  /** Hex SHA-256 of the parameters; empty for a `damaged` record, whose request is unknown. */
  readonly fingerprint: string;
  readonly status: RequestStatus;
  readonly startedMs: number;
  /** 0 while running. */
  readonly finishedMs: number;
  /** JSON text of the value (succeeded) or of the StoredError (failed, interrupted, damaged). */
  readonly outcome: string | undefined;
}

/** A line whose checksum or framing does not hold: bit rot, a bad disk, a careless edit. */
export class DamagedLineError extends Error {
  constructor(
    readonly why: string,
    /** The request IDs the line may have belonged to (see `candidateIds`). */
    readonly candidates: readonly string[],
  ) {
    super(`damaged request record: ${why}`);
  }
}

const STATUSES: readonly RequestStatus[] = ["running", "succeeded", "failed", "interrupted", "damaged"];
const FINGERPRINT = /^[0-9a-f]{64}$/;
const DIGEST_CHARS = 64;

/**
 * One line: `<id> <sha256> <json> <id>`. The JSON holds the fixed fields, then `value` or
 * `error` spliced in as the JSON text already held, so a large response is never parsed and
 * re-serialized to be logged. The SHA-256 covers everything else on the line; the ID at both
 * ends (IDs hold no space) means a line damaged in any one place still names its request.
 */
export function encodeRecordLine(requestId: string, fields: RecordFields): string {
  const json = recordJson(requestId, fields);
  return `${requestId} ${digestOf(requestId, json)} ${json} ${requestId}`;
}

/**
 * Parses a log line of the given format.
 * @throws DamagedLineError when the line is not a whole, well-formed, intact record.
 */
export function decodeRecordLine(
  text: string,
  format: LogFormat = CURRENT_FORMAT,
): { requestId: string; fields: RecordFields } {
  const damaged = (why: string) => new DamagedLineError(why, candidateIds(text));
  if (format === 1) return parseRecordJson(text, damaged);
  const { requestId, json } = verifiedFrame(text, damaged);
  const record = parseRecordJson(json, damaged);
  if (record.requestId !== requestId) throw damaged("the record's request ID is not the line's");
  return record;
}

/**
 * Every well-formed request ID a damaged line may belong to: the first and the last token
 * (format 2 frames the line with its ID; one damaged byte leaves at least one intact) and any
 * `"requestId":"..."` (format 1, or a line cut in two by a stray newline).
 */
export function candidateIds(text: string): string[] {
  const found = new Set<string>();
  const first = text.indexOf(" ");
  for (const token of [first < 0 ? text : text.slice(0, first), text.slice(text.lastIndexOf(" ") + 1)]) {
    if (requestIdProblem(token) === null) found.add(token);
  }
  for (const match of text.matchAll(/"requestId":"([^"]*)"/g)) {
    if (match[1] !== undefined && requestIdProblem(match[1]) === null) found.add(match[1]);
  }
  return [...found];
}

function recordJson(requestId: string, fields: RecordFields): string {
  const { method, vmid, fingerprint, status, startedMs, finishedMs, outcome } = fields;
  const head = JSON.stringify({
    requestId,
    method,
    vmid,
    fingerprint,
    status,
    startedMs,
    finishedMs: status === "running" ? undefined : finishedMs,
  });
  if (outcome === undefined) return head;
  return `${head.slice(0, -1)},"${status === "succeeded" ? "value" : "error"}":${outcome}}`;
}

function digestOf(requestId: string, json: string): string {
  return createHash("sha256").update(requestId).update(" ").update(json).update(" ").update(requestId).digest("hex");
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The ID and JSON of a format-2 line whose framing IDs agree and whose checksum holds. */
function verifiedFrame(text: string, damaged: (why: string) => DamagedLineError): { requestId: string; json: string } {
  const first = text.indexOf(" ");
  const last = text.lastIndexOf(" ");
  const jsonAt = first + DIGEST_CHARS + 2;
  if (first < 0 || last < jsonAt || text[jsonAt - 1] !== " ")
    throw damaged("the line is not framed as '<id> <sha256> <json> <id>'");
  const requestId = text.slice(0, first);
  if (text.slice(last + 1) !== requestId) throw damaged("the request IDs at the two ends of the line differ");
  const json = text.slice(jsonAt, last);
  if (digestOf(requestId, json) !== text.slice(first + 1, jsonAt - 1))
    throw damaged("the checksum does not match the line");
  return { requestId, json };
}

function parseRecordJson(
  text: string,
  damaged: (why: string) => DamagedLineError,
): { requestId: string; fields: RecordFields } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw damaged(`the record is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof raw !== "object" || raw === null) throw damaged("the record is not an object");
  const r = raw as Record<string, unknown>;
  const status = STATUSES.find((s) => s === r.status);
  if (typeof r.requestId !== "string" || typeof r.method !== "string" || !status)
    throw damaged("the record lacks requestId, method or status");
  if (
    typeof r.fingerprint !== "string" ||
    !(FINGERPRINT.test(r.fingerprint) || (status === "damaged" && r.fingerprint === ""))
  )
    throw damaged("the record's fingerprint is not a hex SHA-256");
  if (r.vmid !== undefined && !Number.isInteger(r.vmid)) throw damaged("the record's vmid is not an integer");
  if (typeof r.startedMs !== "number" || (status !== "running" && typeof r.finishedMs !== "number"))
    throw damaged("the record's times are missing");
  return {
    requestId: r.requestId,
    fields: {
      method: r.method,
      vmid: r.vmid as number | undefined,
      fingerprint: r.fingerprint,
      status,
      startedMs: r.startedMs,
      finishedMs: status === "running" ? 0 : (r.finishedMs as number),
      outcome:
        status === "succeeded"
          ? outcomeText(r.value)
          : status === "running"
            ? undefined
            : JSON.stringify(storedError(r.error)),
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
