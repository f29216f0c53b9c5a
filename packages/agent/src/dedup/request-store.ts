import { mkdir } from "node:fs/promises";
import path from "node:path";
import { LockstepError } from "@lockstep/shared";
import { ResourceExhaustedError, UnavailableError } from "../errors.js";
import { DirectoryLock } from "./directory-lock.js";
import { GroupCommit } from "./group-commit.js";
import { damagedFields, isSpilled, loadDamaged, loadLine, markInterrupted, storedErrorOf } from "./load-records.js";
import { LogFile } from "./log-file.js";
import { QuarantineFile, type DamagedLine } from "./quarantine-file.js";
import { RecordIndex, type IndexEntry } from "./record-index.js";
import {
  CURRENT_FORMAT,
  DamagedLineError,
  decodeRecordLine,
  encodeRecordLine,
  type RecordFields,
} from "./record-line.js";
import type { RequestOutcome, RequestRecord, RequestStart, StoredError } from "./request-record.js";
import { compileStoreOptions, type CompiledStoreOptions, type RequestStoreOptions } from "./store-options.js";

const LOG_FILE = "requests.log";
const QUARANTINE_FILE = "requests.quarantine";
// A file of its own: compaction renames a new log over the old one, which would drop a lock held on the log.
const LOCK_FILE = "lock";

interface PendingLine {
  readonly line: string;
  /** Updates memory once the line is durable, with the line's byte offset. */
  readonly apply: (at: number) => void;
}

/** Counters for tests, logs and the benchmark. */
export interface RequestStoreStats {
  readonly records: number;
  readonly running: number;
  readonly logBytes: number;
  readonly logLines: number;
  readonly syncs: number;
  /** Records read back from disk (outcomes too large to hold in memory). */
  readonly diskReads: number;
  /** Damaged log lines set aside in the quarantine file since the store opened. */
  readonly quarantined: number;
}

/**
 * The agent's durable memory of requests: an append-only log of checksummed JSON lines in
 * one directory, owned by one process (flock), replayed into memory at open. A `running`
 * record is durable before the operation runs and the outcome before the reply; concurrent
 * appends share one fdatasync. Memory is only updated once a line is durable, so what `get`
 * returns has always survived a crash. Reads (`get`) never touch the disk unless the outcome
 * was too large to hold in memory. A line that fails its checksum (at open, or when a large
 * outcome is read back) is set aside in a quarantine file and its request becomes `damaged`.
 */
export class RequestStore {
  private readonly commits = new GroupCommit<PendingLine>((items) => this.commit(items));
  private closed = false;
  private compactionQueued = false;
  private interrupted: readonly RequestRecord[] = [];
  private quarantined = 0;

  private constructor(
    private readonly options: CompiledStoreOptions,
    private readonly lock: DirectoryLock,
    private readonly file: LogFile,
    private readonly index: RecordIndex,
    private readonly quarantine: QuarantineFile,
  ) {}

  /**
   * Locks the directory, replays the log, sets damaged lines aside, rewrites the log when it is
   * of an old format or held damaged lines, and marks unfinished records interrupted.
   */
  static async open(raw: RequestStoreOptions): Promise<RequestStore> {
    const options = compileStoreOptions(raw);
    const { logger, clock } = options;
    await mkdir(options.dir, { recursive: true, mode: 0o700 });
    const lock = await DirectoryLock.acquire(path.join(options.dir, LOCK_FILE), options.flockPath);
    const quarantine = new QuarantineFile(path.join(options.dir, QUARANTINE_FILE));
    let file: LogFile | undefined;
    try {
      const index = new RecordIndex(options.retentionMs, options.maxRecords);
      file = await LogFile.open(path.join(options.dir, LOG_FILE), {
        logger,
        onLine: (line, format) => loadLine(index, line, format, options.inlineOutcomeBytes),
        onDamaged: (line) => loadDamaged(index, line, quarantine.filePath, clock.now()),
        onCompactionStep: options.onCompactionStep,
      });
      const store = new RequestStore(options, lock, file, index, quarantine);
      await store.setAside(file.found.damaged);
      if (file.found.rewrite) await store.compactNow();
      await store.interruptUnfinished();
      return store;
    } catch (err) {
      await file?.close();
      await lock.release();
      throw err;
    }
  }

  /** Records that were `running` when the store opened (the agent had crashed or been killed), now `interrupted`. */
  get interruptedAtOpen(): readonly RequestRecord[] {
    return this.interrupted;
  }

  /** The live record of an ID, or undefined (never seen, expired or evicted). */
  get(requestId: string): RequestRecord | undefined {
    this.assertOpen();
    const entry = this.index.lookup(requestId, this.options.clock.now());
    if (!entry || entry.at < 0) return entry && toRecord(requestId, entry, entry.outcome);
    const line = this.readSpilled(requestId, entry);
    return toRecord(requestId, line.fields, line.fields.outcome);
  }

  /**
   * Answers a `damaged` record (`error` is what `get` returned for it): durably turns it into
   * an `interrupted` record of this request, so that the next retry runs it as after any
   * interruption. A large outcome found damaged on reading is set aside first.
   */
  async settleDamaged(start: RequestStart, error: StoredError): Promise<void> {
    this.assertOpen();
    const now = this.options.clock.now();
    const entry = this.index.lookup(start.requestId, now);
    const damaged = entry && entry.at >= 0 ? this.readSpilled(start.requestId, entry).damaged : undefined;
    if (damaged) await this.setAside([damaged]);
    const { requestId, method, vmid, fingerprint } = start;
    const settled: RecordFields = {
      method,
      vmid,
      fingerprint,
      status: "interrupted",
      startedMs: now,
      finishedMs: now,
      outcome: JSON.stringify(error),
    };
    await this.commits.submit({
      line: encodeRecordLine(requestId, settled),
      apply: () => this.index.put(requestId, settled),
    });
  }

  /** Durably records that a request starts; resolves once a crash can no longer lose that. */
  async begin(start: RequestStart): Promise<void> {
    this.assertOpen();
    if (!this.index.canAdmit(start.requestId)) {
      throw new ResourceExhaustedError(`the agent holds ${this.index.size} request records, all running; retry later`, {
        max_records: String(this.options.maxRecords),
      });
    }
    const { requestId, method, vmid, fingerprint } = start;
    const fields: RecordFields = {
      method,
      vmid,
      fingerprint,
      status: "running",
      startedMs: this.options.clock.now(),
      finishedMs: 0,
      outcome: undefined,
    };
    await this.commits.submit({
      line: encodeRecordLine(requestId, fields),
      apply: () => this.index.put(requestId, fields),
    });
  }

  /**
   * Durably records the outcome of a running request; resolves once it is on disk.
   * @throws TypeError, before anything is written, when the value is not JSON-safe.
   */
  async finish(requestId: string, outcome: RequestOutcome): Promise<void> {
    this.assertOpen();
    const current = this.index.lookup(requestId, this.options.clock.now());
    if (current?.status !== "running")
      throw new LockstepError("INTERNAL", `request '${requestId}' is not running, so it cannot finish`, {
        request_id: requestId,
      });
    const succeeded = "value" in outcome;
    const text = succeeded ? jsonOf(outcome.value) : JSON.stringify(storedErrorOf(outcome.error));
    const { method, vmid, fingerprint, startedMs } = current;
    const fields: RecordFields = {
      method,
      vmid,
      fingerprint,
      startedMs,
      status: succeeded ? "succeeded" : "failed",
      finishedMs: this.options.clock.now(),
      outcome: text,
    };
    const line = encodeRecordLine(requestId, fields);
    const spilled = isSpilled(text, this.options.inlineOutcomeBytes);
    await this.commits.submit({
      line,
      apply: (at) =>
        spilled
          ? this.index.put(requestId, { ...fields, outcome: undefined }, at, Buffer.byteLength(line))
          : this.index.put(requestId, fields),
    });
  }

  /** Rewrites the log with the live records only; runs after every append queued before it. */
  compact(): Promise<void> {
    this.assertOpen();
    return this.commits.exclusive(() => this.compactNow());
  }

  get stats(): RequestStoreStats {
    const { bytes, lines, syncs, reads } = this.file.stats;
    return {
      records: this.index.size,
      running: this.index.runningCount,
      logBytes: bytes,
      logLines: lines,
      syncs,
      diskReads: reads,
      quarantined: this.quarantined,
    };
  }

  /** Waits for queued appends, closes the log and releases the lock. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.commits.idle();
    await this.file.close();
    await this.lock.release();
  }

  private async commit(items: PendingLine[]): Promise<void> {
    const offsets = await this.file.append(items.map((item) => item.line));
    items.forEach((item, i) => item.apply(offsets[i] ?? -1));
    this.scheduleCompaction();
  }

  private scheduleCompaction(): void {
    const { bytes, lines } = this.file.stats;
    if (this.compactionQueued || bytes < this.options.compactMinBytes || lines <= 2 * this.index.size) return;
    this.compactionQueued = true;
    void this.commits
      .exclusive(() => this.compactNow())
      .catch((err: unknown) =>
        this.options.logger.error("request log compaction failed; the old log stays in use", {
          err: err instanceof Error ? err.message : String(err),
        }),
      )
      .finally(() => (this.compactionQueued = false));
  }

  private async compactNow(): Promise<void> {
    const before = this.file.stats;
    this.index.sweep(this.options.clock.now());
    const order: IndexEntry[] = [];
    const file = this.file;
    function* lines(all: Iterable<[string, IndexEntry]>): Iterable<string> {
      for (const [requestId, entry] of all) {
        order.push(entry);
        yield entry.at >= 0 ? spilledLine(file, requestId, entry) : encodeRecordLine(requestId, entry);
      }
    }
    await file.replace(lines(this.index.all()), (places) => {
      order.forEach((entry, i) => {
        if (entry.at < 0) return;
        entry.at = places[i]?.at ?? -1;
        entry.length = places[i]?.length ?? 0;
      });
    });
    this.options.logger.info("request log compacted", {
      linesBefore: before.lines,
      bytesBefore: before.bytes,
      linesAfter: file.stats.lines,
      bytesAfter: file.stats.bytes,
    });
  }

  /** Keeps damaged lines in the quarantine file, durably, and says so in the log. */
  private async setAside(lines: readonly DamagedLine[]): Promise<void> {
    if (lines.length === 0) return;
    await this.quarantine.keep(lines, this.options.clock.now());
    this.quarantined += lines.length;
    for (const { at, why, candidates } of lines) {
      this.options.logger.error(
        "a request record was damaged on disk and set aside; its request is answered INTERRUPTED once",
        { path: this.quarantine.filePath, offset: at, why, requestIds: candidates.join(",") },
      );
    }
  }

  private async interruptUnfinished(): Promise<void> {
    const { clock, logger, dir } = this.options;
    const interrupted = await markInterrupted(this.file, this.index, clock.now());
    const expired = this.index.sweep(clock.now());
    logger.info("request store opened", {
      dir,
      records: this.index.size,
      expired,
      interrupted: interrupted.length,
      quarantined: this.quarantined,
      ...this.file.stats,
    });
    for (const [requestId, { method, vmid }] of interrupted)
      logger.warn("request interrupted by an agent stop; a retry with its ID re-executes", { requestId, method, vmid });
    this.interrupted = interrupted.map(([id, fields]) => toRecord(id, fields, fields.outcome));
  }

  /** A record whose outcome stays in the log, read back and checked; `damaged` when its line no longer is intact. */
  private readSpilled(requestId: string, entry: IndexEntry): { fields: RecordFields; damaged?: DamagedLine } {
    const bytes = this.file.readBytes(entry.at, entry.length);
    try {
      return decodeRecordLine(bytes.toString("utf8"), this.file.format);
    } catch (err) {
      if (!(err instanceof DamagedLineError)) throw err;
      const fields = damagedFields(requestId, err.why, this.quarantine.filePath, this.options.clock.now());
      return { fields, damaged: { at: entry.at, bytes, why: err.why, candidates: [requestId] } };
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new UnavailableError("the request store is closed");
  }
}

/**
 * A line whose outcome is too large to hold in memory, for the rewritten log: copied from the
 * old log verbatim (a damaged one stays damaged, for the next read or open to set aside), or
 * re-encoded when the old log is of an older format.
 */
function spilledLine(file: LogFile, requestId: string, entry: IndexEntry): string {
  const text = file.readLine(entry.at, entry.length);
  return file.format === CURRENT_FORMAT
    ? text
    : encodeRecordLine(requestId, decodeRecordLine(text, file.format).fields);
}

function jsonOf(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch (err) {
    throw new TypeError(
      `an operation's response must be JSON-safe to be stored: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

function toRecord(requestId: string, fields: RecordFields, outcome: string | undefined): RequestRecord {
  const { method, vmid, fingerprint, status, startedMs, finishedMs } = fields;
  const parsed: unknown = outcome === undefined ? undefined : JSON.parse(outcome);
  return {
    requestId,
    method,
    ...(vmid === undefined ? {} : { vmid }),
    fingerprint,
    status,
    startedMs,
    ...(status === "running" ? {} : { finishedMs }),
    ...(parsed === undefined ? {} : status === "succeeded" ? { value: parsed } : { error: parsed as StoredError }),
  };
}
