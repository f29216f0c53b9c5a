import type { RecordFields } from "./record-line.js";

/**
 * A record as held in memory. Kept flat and small (the agent may hold 200,000): the
 * outcome stays JSON text, and an outcome too large to hold is left in the log and found
 * by its line's position (`at` ≥ 0). Built only by `RecordIndex.put`, so every entry has
 * the same layout.
 */
export interface IndexEntry extends RecordFields {
  /** Byte offset of this record's line in the log when the outcome is not held; -1 otherwise. */
  at: number;
  /** Byte length of that line. */
  length: number;
}

const MAX_INTERNED_METHODS = 256;

/**
 * The live records by request ID, in the order they last changed: a record moves to the end
 * when it starts and again when it finishes, so the front holds the oldest finished records
 * and expiry and eviction only ever look at the front. Pure memory, no I/O.
 */
export class RecordIndex {
  private readonly entries = new Map<string, IndexEntry>();
  // One string per method name instead of one per record read from disk.
  private readonly methods = new Map<string, string>();
  private running = 0;

  constructor(
    private readonly retentionMs: number,
    private readonly maxRecords: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get runningCount(): number {
    return this.running;
  }

  /** The live record of an ID; a finished record past the retention is dropped and not returned. */
  lookup(requestId: string, now: number): IndexEntry | undefined {
    const entry = this.entries.get(requestId);
    if (entry && this.isExpired(entry, now)) {
      this.delete(requestId, entry);
      return undefined;
    }
    return entry;
  }

  /** Whether a new ID can be taken: there is room, or a finished record to evict for it. */
  canAdmit(requestId: string): boolean {
    return this.entries.size < this.maxRecords || this.entries.has(requestId) || this.running < this.entries.size;
  }

  /**
   * Sets an ID's record (the last write wins) and evicts the oldest finished records past
   * the bound. `at`/`length` locate the line when the outcome is left in the log.
   */
  put(requestId: string, fields: RecordFields, at = -1, length = 0): void {
    const previous = this.entries.get(requestId);
    if (previous) this.delete(requestId, previous);
    // One object literal with one key order: every entry shares a single hidden class
    // (spreads gave each entry its own, which tripled the memory per record).
    const entry: IndexEntry = {
      method: this.intern(fields.method),
      vmid: fields.vmid,
      fingerprint: flat(fields.fingerprint),
      status: fields.status,
      startedMs: fields.startedMs,
      finishedMs: fields.finishedMs,
      outcome: fields.outcome === undefined ? undefined : flat(fields.outcome),
      at,
      length,
    };
    this.entries.set(flat(requestId), entry);
    if (entry.status === "running") this.running += 1;
    this.evictOverBound();
  }

  /** Drops every finished record past the retention; returns how many. */
  sweep(now: number): number {
    let dropped = 0;
    for (const [requestId, entry] of this.entries) {
      if (entry.status === "running") continue;
      // Finished records sit in finishing order: the first one still young ends the sweep.
      if (!this.isExpired(entry, now)) break;
      this.delete(requestId, entry);
      dropped += 1;
    }
    return dropped;
  }

  /** Every live record, oldest change first. */
  all(): IterableIterator<[string, IndexEntry]> {
    return this.entries.entries();
  }

  private evictOverBound(): void {
    if (this.entries.size <= this.maxRecords) return;
    for (const [requestId, entry] of this.entries) {
      if (this.entries.size <= this.maxRecords) return;
      if (entry.status !== "running") this.delete(requestId, entry);
    }
  }

  private intern(method: string): string {
    const known = this.methods.get(method);
    if (known !== undefined) return known;
    const copy = flat(method);
    if (this.methods.size < MAX_INTERNED_METHODS) this.methods.set(copy, copy);
    return copy;
  }

  private isExpired(entry: IndexEntry, now: number): boolean {
    return entry.status !== "running" && now - entry.finishedMs >= this.retentionMs;
  }

  private delete(requestId: string, entry: IndexEntry): void {
    this.entries.delete(requestId);
    if (entry.status === "running") this.running -= 1;
  }
}

/**
 * A flat copy of a string (its content unchanged: JSON text, request IDs and hex never
 * hold lone surrogates, the one thing a UTF-8 round trip alters). V8 builds JSON.stringify output and concatenations as trees of
 * string pieces (cons strings) that cost two or three extra headers each when kept for a day.
 */
function flat(text: string): string {
  return text.length < 13 ? text : Buffer.from(text, "utf8").toString("utf8");
}
