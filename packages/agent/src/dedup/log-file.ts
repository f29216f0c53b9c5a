import { constants, readSync } from "node:fs";
import { open, rename, rm, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { LockstepError, type Logger } from "@lockstep/shared";
import { fsyncDir } from "./fsync-dir.js";
import type { DamagedLine } from "./quarantine-file.js";
import { CURRENT_FORMAT, logHeader, type LogFormat } from "./record-line.js";
import { replayLog, type ReplayHandlers } from "./replay-log.js";
import { stateStorageFailure } from "./storage-failure.js";

/** Points in a compaction where a test can simulate a crash (the process dies there). */
export type CompactionStep = "temp-synced" | "renamed";

export interface LogFileOptions extends ReplayHandlers {
  readonly logger: Logger;
  /** Fault-injection seam for crash tests; production passes nothing. */
  readonly onCompactionStep?: (step: CompactionStep) => void;
}

const WRITE_CHUNK_BYTES = 1 << 20;

/**
 * The append-only log behind the request store: a header line, then one checksummed record
 * per line (record-line.ts). Appends are positional writes at the committed size followed by fdatasync, so a
 * failed write is cut off again and never leaves a torn line for later appends to follow.
 * After an fdatasync failure the file is given up (the kernel may have dropped the dirty
 * pages, so a retried fsync could lie): every later call fails until the agent restarts.
 */
export class LogFile {
  private broken: Error | undefined;
  private syncCount = 0;
  private readCount = 0;

  private constructor(
    readonly filePath: string,
    private readonly options: LogFileOptions,
    private handle: FileHandle,
    private size: number,
    private lineCount: number,
    /** The format of the lines in the file now: an old one until the first rewrite. */
    private lineFormat: LogFormat,
    /** The damaged lines found at open, and whether the file wants a rewrite (`replace`). */
    readonly found: { readonly damaged: readonly DamagedLine[]; readonly rewrite: boolean },
  ) {}

  /**
   * Opens (or creates) the log, feeds every record line to `onLine` and every damaged one to
   * `onDamaged`, and cuts off a torn tail.
   */
  static async open(filePath: string, options: LogFileOptions): Promise<LogFile> {
    await removeLeftoverTemp(filePath, options.logger);
    const handle = await open(filePath, constants.O_RDWR | constants.O_CREAT, 0o600);
    try {
      const { end, lines, format, damaged, rewrite } = await replayLog(handle, filePath, options.logger, options);
      const file = new LogFile(filePath, options, handle, end, lines, format, { damaged, rewrite });
      if (end === 0) await file.writeHeader();
      return file;
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  get format(): LogFormat {
    return this.lineFormat;
  }

  /** Committed bytes, record lines, fdatasync calls and line reads so far (for compaction and measurement). */
  get stats(): { bytes: number; lines: number; syncs: number; reads: number } {
    return { bytes: this.size, lines: this.lineCount, syncs: this.syncCount, reads: this.readCount };
  }

  /** Appends lines durably (one write, one fdatasync); returns the byte offset of each line. */
  async append(lines: readonly string[]): Promise<number[]> {
    this.assertUsable();
    const offsets: number[] = [];
    let at = this.size;
    for (const line of lines) {
      offsets.push(at);
      at += Buffer.byteLength(line, "utf8") + 1;
    }
    const data = Buffer.from(`${lines.join("\n")}\n`, "utf8");
    try {
      await writeAll(this.handle, data, this.size);
    } catch (err) {
      await this.cutBack();
      throw this.failure("write to", err);
    }
    await this.sync();
    this.size += data.length;
    this.lineCount += lines.length;
    return offsets;
  }

  /** Reads one line back by position. Synchronous, so no compaction can swap the file under it. */
  readLine(at: number, length: number): string {
    return this.readBytes(at, length).toString("utf8");
  }

  /** The bytes of one line, as `readLine` reads them. */
  readBytes(at: number, length: number): Buffer {
    this.assertUsable();
    const buffer = Buffer.allocUnsafe(length);
    const read = readSync(this.handle.fd, buffer, 0, length, at);
    this.readCount += 1;
    if (read !== length)
      throw new LockstepError("INTERNAL", `request log ${this.filePath} is shorter than its index says`, {
        path: this.filePath,
      });
    return buffer;
  }

  /**
   * Replaces the log with `lines` in the current format (compaction), crash-safe at every step: the new content is
   * written to a temp file and fsynced, renamed over the log, and the directory fsynced. A
   * crash before the rename leaves the old log and a temp file that the next open deletes;
   * after it, the new log. `onSwap` gets each line's new place, synchronously with the swap.
   */
  async replace(lines: Iterable<string>, onSwap: (places: { at: number; length: number }[]) => void): Promise<void> {
    this.assertUsable();
    const tempPath = compactionTempPath(this.filePath);
    const temp = await open(tempPath, "w+", 0o600);
    let written: { size: number; offsets: number[] };
    try {
      written = await writeLines(temp, withHeader(lines));
      await temp.sync();
      this.options.onCompactionStep?.("temp-synced");
      await rename(tempPath, this.filePath);
    } catch (err) {
      await temp.close();
      await rm(tempPath, { force: true });
      throw err;
    }
    this.options.onCompactionStep?.("renamed");
    const old = this.handle;
    this.handle = temp;
    this.lineFormat = CURRENT_FORMAT;
    this.size = written.size;
    this.lineCount = written.offsets.length - 1;
    const starts = written.offsets;
    onSwap(starts.slice(1).map((at, i) => ({ at, length: (starts[i + 2] ?? written.size) - at - 1 })));
    await old.close();
    await fsyncDir(path.dirname(this.filePath)).catch((err: unknown) => {
      this.broken = this.failure("fsync the directory of", err);
    });
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  private async writeHeader(): Promise<void> {
    const header = logHeader(CURRENT_FORMAT);
    await writeAll(this.handle, Buffer.from(`${header}\n`), 0);
    await this.sync();
    this.size = Buffer.byteLength(header) + 1;
    this.lineFormat = CURRENT_FORMAT;
    // The new file's directory entry must be durable too, or a crash could lose the whole log.
    await fsyncDir(path.dirname(this.filePath));
  }

  private async sync(): Promise<void> {
    try {
      await this.handle.datasync();
      this.syncCount += 1;
    } catch (err) {
      this.broken = this.failure("fdatasync", err);
      throw this.broken;
    }
  }

  private async cutBack(): Promise<void> {
    try {
      await this.handle.truncate(this.size);
    } catch (err) {
      this.broken = this.failure("truncate a failed write in", err);
    }
  }

  private assertUsable(): void {
    if (this.broken) throw this.broken;
  }

  private failure(action: string, cause: unknown): LockstepError {
    const reason = cause instanceof Error ? cause.message : String(cause);
    this.options.logger.error("request log I/O failed", { path: this.filePath, action, err: reason });
    return stateStorageFailure(`cannot ${action} the request log: ${reason}`, cause, { path: this.filePath });
  }
}

/** Where compaction writes before the rename; a leftover one is a compaction a crash cut short. */
function compactionTempPath(filePath: string): string {
  return `${filePath}.compact`;
}

function* withHeader(lines: Iterable<string>): Iterable<string> {
  yield logHeader(CURRENT_FORMAT);
  yield* lines;
}

async function removeLeftoverTemp(filePath: string, logger: Logger): Promise<void> {
  const tempPath = compactionTempPath(filePath);
  try {
    await rm(tempPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  // Only a crash between writing the temp file and renaming it leaves one: the log is still whole.
  logger.warn("removed the temp file of an unfinished compaction", { path: tempPath });
  await fsyncDir(path.dirname(filePath));
}

async function writeLines(handle: FileHandle, lines: Iterable<string>): Promise<{ size: number; offsets: number[] }> {
  const offsets: number[] = [];
  let size = 0;
  let pending: string[] = [];
  let pendingBytes = 0;
  for (const line of lines) {
    offsets.push(size + pendingBytes);
    pending.push(line);
    pendingBytes += Buffer.byteLength(line, "utf8") + 1;
    if (pendingBytes >= WRITE_CHUNK_BYTES) {
      size += await writeAll(handle, Buffer.from(`${pending.join("\n")}\n`, "utf8"), size);
      pending = [];
      pendingBytes = 0;
    }
  }
  if (pending.length > 0) size += await writeAll(handle, Buffer.from(`${pending.join("\n")}\n`, "utf8"), size);
  return { size, offsets };
}

async function writeAll(handle: FileHandle, data: Buffer, position: number): Promise<number> {
  for (let done = 0; done < data.length;) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
  return data.length;
}
