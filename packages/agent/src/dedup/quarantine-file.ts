import { constants } from "node:fs";
import { open } from "node:fs/promises";
import path from "node:path";
import { fsyncDir } from "./fsync-dir.js";

/** A log line that failed its checksum or framing, as found. */
export interface DamagedLine {
  /** Byte offset of the line in the log it was found in. */
  readonly at: number;
  /** The line's bytes exactly as read, without its newline. */
  readonly bytes: Buffer;
  readonly why: string;
  /** The request IDs it may have belonged to; each is answered INTERRUPTED once. */
  readonly candidates: readonly string[];
}

/**
 * The side file that keeps damaged log lines, one JSON line each (the bytes in base64, since
 * they need not be UTF-8), so that nothing the log held is thrown away when the log is
 * rewritten without them. Written before the log drops them: a crash between the two finds
 * the lines damaged again at the next open and keeps them a second time, never zero times.
 */
export class QuarantineFile {
  constructor(readonly filePath: string) {}

  /** Appends the lines durably (the file, and its directory entry when it is new). */
  async keep(lines: readonly DamagedLine[], foundMs: number): Promise<void> {
    if (lines.length === 0) return;
    const text = lines
      .map((line) =>
        JSON.stringify({
          foundMs,
          offset: line.at,
          why: line.why,
          candidates: line.candidates,
          base64: line.bytes.toString("base64"),
        }),
      )
      .join("\n");
    const handle = await open(this.filePath, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
    let created: boolean;
    try {
      created = (await handle.stat()).size === 0;
      await handle.write(`${text}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (created) await fsyncDir(path.dirname(this.filePath));
  }
}
