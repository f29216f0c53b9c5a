import type { FileHandle } from "node:fs/promises";
import { LockstepError, type Logger } from "@lockstep/shared";
import type { DamagedLine } from "./quarantine-file.js";
import {
  candidateIds,
  CURRENT_FORMAT,
  DamagedLineError,
  decodeRecordLine,
  headerVersion,
  type LogFormat,
} from "./record-line.js";
import { scanLines, type ScannedLine } from "./scan-lines.js";

/** What reading a log found. */
export interface ReplayedLog {
  /** Where the next append goes. */
  readonly end: number;
  /** Record lines read (damaged ones included). */
  readonly lines: number;
  readonly format: LogFormat;
  /** Damaged lines, in log order, with their bytes. */
  readonly damaged: readonly DamagedLine[];
  /** Whether the log should be rewritten whole: an old format, a damaged header or damaged lines. */
  readonly rewrite: boolean;
}

/** Where each line of the log goes while it is read. */
export interface ReplayHandlers {
  /** A record line; throws DamagedLineError when it is not intact. */
  readonly onLine: (line: ScannedLine, format: LogFormat) => void;
  /** A damaged line, in its place among the others (the records after it still win). */
  readonly onDamaged: (line: Omit<DamagedLine, "bytes">) => void;
}

type Found = Omit<DamagedLine, "bytes"> & { readonly length: number };

/**
 * Reads the whole log. A damaged line anywhere is handed to `onDamaged` and returned for
 * quarantine; every other record stays usable. An unterminated last line is a write torn by a
 * crash (never acknowledged) and is cut off, unless it is a whole record that lost only its
 * newline, which is kept. A header of a newer format refuses the log: this agent cannot read it.
 */
export async function replayLog(
  handle: FileHandle,
  filePath: string,
  logger: Logger,
  handlers: ReplayHandlers,
): Promise<ReplayedLog> {
  // undefined before the first line; "unknown" after a damaged header, until a record tells.
  let format: LogFormat | "unknown" | undefined;
  let lines = 0;
  let headerLost = false;
  const found: Found[] = [];
  const damage = (line: ScannedLine, why: string, candidates: readonly string[]): void => {
    const damaged = { at: line.at, length: line.length, why, candidates };
    found.push(damaged);
    handlers.onDamaged(damaged);
  };
  const read = (line: ScannedLine, as: LogFormat): void => {
    lines += 1;
    try {
      handlers.onLine(line, as);
    } catch (err) {
      if (!(err instanceof DamagedLineError)) throw err;
      damage(line, err.why, err.candidates);
    }
  };
  const tail = await scanLines(handle, (line) => {
    if (format === undefined) {
      format = headerFormat(line.text, filePath);
      if (format !== undefined) return;
      headerLost = true;
      format = recordFormat(line.text);
      // Not a record either: the header is damaged (and may have swallowed the first record's newline).
      if (format === "unknown") return damage(line, "the log's header is damaged", candidateIds(line.text));
    }
    // Records of format 1 are bare JSON objects; those of format 2 start with their request ID.
    if (format === "unknown") format = line.text.startsWith("{") ? 1 : 2;
    read(line, format);
  });
  const known = format === undefined || format === "unknown" ? CURRENT_FORMAT : format;
  const end = tail
    ? await keepOrCut(handle, filePath, logger, tail, known, (line) => read(line, known))
    : (await handle.stat()).size;
  const damaged = await Promise.all(
    found.map(async ({ length, ...line }) => ({ ...line, bytes: await bytesAt(handle, line.at, length) })),
  );
  const repaired = tail !== undefined && end > tail.at;
  return {
    end: format === undefined ? 0 : end,
    lines,
    format: known,
    damaged,
    rewrite: headerLost || repaired || damaged.length > 0 || known !== CURRENT_FORMAT,
  };
}

/** The format an intact header names; undefined when the line is no intact header. */
function headerFormat(text: string, filePath: string): LogFormat | undefined {
  const version = headerVersion(text);
  if (version !== undefined && version > CURRENT_FORMAT) {
    throw new LockstepError(
      "INTERNAL",
      `${filePath} is a request log of format ${version}, written by a newer agent; this agent reads up to ${CURRENT_FORMAT}`,
      { path: filePath },
    );
  }
  return version as LogFormat | undefined;
}

/** The format in which a line is a whole record, or "unknown". */
function recordFormat(text: string): LogFormat | "unknown" {
  if (isWhole(text, 2)) return 2;
  return isWhole(text, 1) ? 1 : "unknown";
}

function isWhole(text: string, format: LogFormat): boolean {
  try {
    decodeRecordLine(text, format);
    return true;
  } catch (err) {
    if (err instanceof DamagedLineError) return false;
    throw err;
  }
}

/**
 * An unterminated last line: kept (its newline written) when it, or it without its last byte
 * (a newline that was damaged into something else), is a whole record; cut off otherwise.
 * Returns the end of the log.
 */
async function keepOrCut(
  handle: FileHandle,
  filePath: string,
  logger: Logger,
  tail: ScannedLine,
  format: LogFormat,
  read: (line: ScannedLine) => void,
): Promise<number> {
  for (const text of [tail.text, tail.text.slice(0, -1)]) {
    if (text.length === 0 || !isWhole(text, format)) continue;
    const length = Buffer.byteLength(text);
    read({ text, at: tail.at, length });
    await handle.truncate(tail.at + length);
    await handle.write("\n", tail.at + length);
    await handle.datasync();
    logger.warn("the request log's last record had lost its newline; kept it", { path: filePath, at: tail.at });
    return tail.at + length + 1;
  }
  logger.warn("cut off a torn last line of the request log", { path: filePath, at: tail.at, bytes: tail.length });
  await handle.truncate(tail.at);
  await handle.datasync();
  return tail.at;
}

async function bytesAt(handle: FileHandle, at: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, at);
  return buffer.subarray(0, bytesRead);
}
