import type { FileHandle } from "node:fs/promises";
import { LockstepError, type Logger } from "@lockstep/shared";
import { LOG_HEADER } from "./record-line.js";
import { scanLines, type ScannedLine } from "./scan-lines.js";

/**
 * Reads the whole log. A line that fails to parse is tolerated only as the last one (a
 * write torn by a crash: it was never acknowledged) and cut off; anywhere else the log is
 * corrupt, and the store refuses to open rather than forget requests it has answered.
 */
export async function replayLog(handle: FileHandle, filePath: string, logger: Logger, onLine: (line: ScannedLine) => void): Promise<{ end: number; lines: number }> {
  let headerSeen = false;
  let lines = 0;
  let bad: ScannedLine | undefined;
  const tail = await scanLines(handle, (line) => {
    if (bad) throw corrupt(filePath, bad);
    if (!headerSeen) {
      if (line.text !== LOG_HEADER) throw new LockstepError("INTERNAL", `${filePath} does not start with a request log header; refusing to use it`, { path: filePath });
      headerSeen = true;
      return;
    }
    try {
      onLine(line);
      lines += 1;
    } catch {
      bad = line;
    }
  });
  if (bad && tail) throw corrupt(filePath, bad);
  const torn = bad ?? tail;
  if (!torn) return { end: headerSeen ? (await handle.stat()).size : 0, lines };
  logger.warn("cut off a torn last line of the request log", { path: filePath, at: torn.at, bytes: (await handle.stat()).size - torn.at });
  await handle.truncate(torn.at);
  await handle.datasync();
  return { end: headerSeen ? torn.at : 0, lines };
}

function corrupt(filePath: string, line: ScannedLine): LockstepError {
  return new LockstepError(
    "INTERNAL",
    `request log ${filePath} holds a malformed record at byte ${line.at} followed by more records; move the file aside to start with an empty log`,
    { path: filePath, offset: String(line.at) },
  );
}
