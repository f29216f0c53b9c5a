import { InterruptedError } from "../errors.js";
import type { LogFile } from "./log-file.js";
import type { RecordIndex } from "./record-index.js";
import type { DamagedLine } from "./quarantine-file.js";
import { decodeRecordLine, encodeRecordLine, type LogFormat, type RecordFields } from "./record-line.js";
import type { StoredError } from "./request-record.js";
import type { ScannedLine } from "./scan-lines.js";

/** Puts one log line into the index: the last line of an ID wins. Throws DamagedLineError on a damaged line. */
export function loadLine(index: RecordIndex, line: ScannedLine, format: LogFormat, inlineOutcomeBytes: number): void {
  const { requestId, fields } = decodeRecordLine(line.text, format);
  const spilled = isSpilled(fields.outcome, inlineOutcomeBytes);
  if (spilled) index.put(requestId, { ...fields, outcome: undefined }, line.at, line.length);
  else index.put(requestId, fields);
}

/**
 * A damaged line, in its place in the log: each request it may have belonged to becomes
 * `damaged` unless a later intact line of that request says more.
 */
export function loadDamaged(
  index: RecordIndex,
  line: Omit<DamagedLine, "bytes">,
  quarantinePath: string,
  now: number,
): void {
  for (const requestId of line.candidates)
    index.put(requestId, damagedFields(requestId, line.why, quarantinePath, now));
}

/** The record of a request whose line was damaged: its outcome is unknown. */
export function damagedFields(requestId: string, why: string, quarantinePath: string, now: number): RecordFields {
  const error = storedErrorOf(
    new InterruptedError(
      requestId,
      `the agent's record of request '${requestId}' was damaged on disk (${why}) and set aside in ${quarantinePath}; what the request did is unknown: re-read the node; a retry with this ID runs it again`,
    ),
  );
  return {
    method: "",
    vmid: undefined,
    fingerprint: "",
    status: "damaged",
    startedMs: now,
    finishedMs: now,
    outcome: JSON.stringify(error),
  };
}

/** Whether an outcome is too large to hold in memory and stays in the log only. */
export function isSpilled(outcome: string | undefined, inlineOutcomeBytes: number): boolean {
  return outcome !== undefined && outcome.length > inlineOutcomeBytes;
}

/**
 * After a crash, every record still `running` belongs to an operation that started and
 * never finished. Each becomes `interrupted`, durably, before the store takes new work, so
 * the next crash cannot turn it back into an unknown; a retry with its ID re-executes.
 * Returns the interrupted records' IDs and fields, for the daemon to log and publish.
 */
export async function markInterrupted(
  file: LogFile,
  index: RecordIndex,
  now: number,
): Promise<[string, RecordFields][]> {
  const interrupted: [string, RecordFields][] = [];
  for (const [requestId, entry] of index.all()) {
    if (entry.status !== "running") continue;
    const error = storedErrorOf(
      new InterruptedError(
        requestId,
        `the agent stopped while request '${requestId}' (${entry.method}) was running; retry with the same request ID to converge`,
      ),
    );
    const { method, vmid, fingerprint, startedMs } = entry;
    interrupted.push([
      requestId,
      { method, vmid, fingerprint, startedMs, status: "interrupted", finishedMs: now, outcome: JSON.stringify(error) },
    ]);
  }
  if (interrupted.length === 0) return interrupted;
  await file.append(interrupted.map(([requestId, fields]) => encodeRecordLine(requestId, fields)));
  for (const [requestId, fields] of interrupted) index.put(requestId, fields);
  return interrupted;
}

/** The stored form of a domain error. */
export function storedErrorOf(err: {
  code: StoredError["code"];
  message: string;
  metadata: Readonly<Record<string, string>>;
}): StoredError {
  return { code: err.code, message: err.message, metadata: { ...err.metadata } };
}
