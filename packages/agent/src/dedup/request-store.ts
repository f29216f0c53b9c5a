import { mkdir } from "node:fs/promises";
import path from "node:path";
import { LockstepError } from "@lockstep/shared";
import { ResourceExhaustedError, UnavailableError } from "../errors.js";
import { DirectoryLock } from "./directory-lock.js";
import { GroupCommit } from "./group-commit.js";
import { isSpilled, loadLine, markInterrupted, storedErrorOf } from "./load-records.js";
import { LogFile } from "./log-file.js";
import { RecordIndex, type IndexEntry } from "./record-index.js";
import { decodeRecordLine, encodeRecordLine, type RecordFields } from "./record-line.js";
import type { RequestOutcome, RequestRecord, RequestStart, StoredError } from "./request-record.js";
import { compileStoreOptions, type CompiledStoreOptions, type RequestStoreOptions } from "./store-options.js";

const LOG_FILE = "requests.log";
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
}

/**
 * The agent's durable memory of requests: an append-only log of JSON lines in one
 * directory, owned by one process (flock), replayed into memory at open. A `running` record
 * is durable before the operation runs and the outcome before the reply; concurrent appends
 * share one fdatasync. Memory is only updated once a line is durable, so what `get` returns
 * has always survived a crash. Reads (`get`) never touch the disk unless the outcome was too
 * large to hold in memory.
 */
export class RequestStore {
  private readonly commits = new GroupCommit<PendingLine>((items) => this.commit(items));
  private closed = false;
  private compactionQueued = false;

  private constructor(
    private readonly options: CompiledStoreOptions,
    private readonly lock: DirectoryLock,
    private readonly file: LogFile,
    private readonly index: RecordIndex,
    /** Records that were `running` when the store opened (the agent had crashed or been killed), now `interrupted`. */
    readonly interruptedAtOpen: readonly RequestRecord[],
  ) {}

  /** Locks the directory, replays the log and marks unfinished records interrupted. */
  static async open(raw: RequestStoreOptions): Promise<RequestStore> {
    const options = compileStoreOptions(raw);
    const { logger, clock } = options;
    await mkdir(options.dir, { recursive: true, mode: 0o700 });
    const lock = await DirectoryLock.acquire(path.join(options.dir, LOCK_FILE), options.flockPath);
    let file: LogFile | undefined;
    try {
      const index = new RecordIndex(options.retentionMs, options.maxRecords);
      file = await LogFile.open(path.join(options.dir, LOG_FILE), {
        logger,
        onLine: (line) => loadLine(index, line, options.inlineOutcomeBytes),
        onCompactionStep: options.onCompactionStep,
      });
      const interrupted = await markInterrupted(file, index, clock.now());
      const expired = index.sweep(clock.now());
      logger.info("request store opened", { dir: options.dir, records: index.size, expired, interrupted: interrupted.length, ...file.stats });
      for (const [requestId, { method, vmid }] of interrupted) logger.warn("request interrupted by an agent stop; a retry with its ID re-executes", { requestId, method, vmid });
      return new RequestStore(options, lock, file, index, interrupted.map(([id, fields]) => toRecord(id, fields, fields.outcome)));
    } catch (err) {
      await file?.close();
      await lock.release();
      throw err;
    }
  }

  /** The live record of an ID, or undefined (never seen, expired or evicted). */
  get(requestId: string): RequestRecord | undefined {
    this.assertOpen();
    const entry = this.index.lookup(requestId, this.options.clock.now());
    return entry && toRecord(requestId, entry, this.outcomeOf(entry));
  }

  /** Durably records that a request starts; resolves once a crash can no longer lose that. */
  async begin(start: RequestStart): Promise<void> {
    this.assertOpen();
    if (!this.index.canAdmit(start.requestId)) {
      throw new ResourceExhaustedError(`the agent holds ${this.index.size} request records, all running; retry later`, { max_records: String(this.options.maxRecords) });
    }
    const { requestId, method, vmid, fingerprint } = start;
    const fields: RecordFields = { method, vmid, fingerprint, status: "running", startedMs: this.options.clock.now(), finishedMs: 0, outcome: undefined };
    await this.commits.submit({ line: encodeRecordLine(requestId, fields), apply: () => this.index.put(requestId, fields) });
  }

  /**
   * Durably records the outcome of a running request; resolves once it is on disk.
   * @throws TypeError, before anything is written, when the value is not JSON-safe.
   */
  async finish(requestId: string, outcome: RequestOutcome): Promise<void> {
    this.assertOpen();
    const current = this.index.lookup(requestId, this.options.clock.now());
    if (current?.status !== "running") throw new LockstepError("INTERNAL", `request '${requestId}' is not running, so it cannot finish`, { request_id: requestId });
    const succeeded = "value" in outcome;
    const text = succeeded ? jsonOf(outcome.value) : JSON.stringify(storedErrorOf(outcome.error));
    const { method, vmid, fingerprint, startedMs } = current;
    const fields: RecordFields = { method, vmid, fingerprint, startedMs, status: succeeded ? "succeeded" : "failed", finishedMs: this.options.clock.now(), outcome: text };
    const line = encodeRecordLine(requestId, fields);
    const spilled = isSpilled(text, this.options.inlineOutcomeBytes);
    await this.commits.submit({
      line,
      apply: (at) => (spilled ? this.index.put(requestId, { ...fields, outcome: undefined }, at, Buffer.byteLength(line)) : this.index.put(requestId, fields)),
    });
  }

  /** Rewrites the log with the live records only; runs after every append queued before it. */
  compact(): Promise<void> {
    this.assertOpen();
    return this.commits.exclusive(() => this.compactNow());
  }

  get stats(): RequestStoreStats {
    const { bytes, lines, syncs, reads } = this.file.stats;
    return { records: this.index.size, running: this.index.runningCount, logBytes: bytes, logLines: lines, syncs, diskReads: reads };
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
      .catch((err: unknown) => this.options.logger.error("request log compaction failed; the old log stays in use", { err: err instanceof Error ? err.message : String(err) }))
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
        // A large outcome is copied from the old log verbatim, never held in memory.
        yield entry.at >= 0 ? file.readLine(entry.at, entry.length) : encodeRecordLine(requestId, entry);
      }
    }
    await file.replace(lines(this.index.all()), (offsets) => {
      order.forEach((entry, i) => {
        if (entry.at >= 0) entry.at = offsets[i] ?? -1;
      });
    });
    this.options.logger.info("request log compacted", { linesBefore: before.lines, bytesBefore: before.bytes, linesAfter: file.stats.lines, bytesAfter: file.stats.bytes });
  }

  private outcomeOf(entry: IndexEntry): string | undefined {
    return entry.at >= 0 ? decodeRecordLine(this.file.readLine(entry.at, entry.length)).fields.outcome : entry.outcome;
  }

  private assertOpen(): void {
    if (this.closed) throw new UnavailableError("the request store is closed");
  }
}

function jsonOf(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch (err) {
    throw new TypeError(`an operation's response must be JSON-safe to be stored: ${err instanceof Error ? err.message : String(err)}`);
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
