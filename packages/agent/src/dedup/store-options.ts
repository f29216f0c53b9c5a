import { silentLogger, systemClock, type Clock, type Logger } from "@lockstep/shared";
import type { CompactionStep } from "./log-file.js";

/** How a request store is set up; everything but `dir` has a default. */
export interface RequestStoreOptions {
  /** Directory of the log and its lock file, e.g. `/var/lib/lockstep-agent/requests`; created 0700. */
  readonly dir: string;
  /** How long a finished record is kept (and replayed); after that its ID counts as new. Default 24 h. */
  readonly retentionMs?: number;
  /** Most records held; past it the oldest finished ones are evicted (never a running one). Default 200,000. */
  readonly maxRecords?: number;
  /** The log is compacted once it holds over twice as many lines as live records and is at least this big. Default 4 MiB. */
  readonly compactMinBytes?: number;
  /** Outcomes longer than this (JSON characters) stay in the log only and are read back on replay. Default 4 KiB. */
  readonly inlineOutcomeBytes?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** util-linux flock(1). Default `/usr/bin/flock`. */
  readonly flockPath?: string;
  /** Fault-injection seam for crash tests; production passes nothing. */
  readonly onCompactionStep?: (step: CompactionStep) => void;
}

/** Options with every default filled in and every bound checked, compiled once at open. */
export interface CompiledStoreOptions {
  readonly dir: string;
  readonly retentionMs: number;
  readonly maxRecords: number;
  readonly compactMinBytes: number;
  readonly inlineOutcomeBytes: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly flockPath: string;
  readonly onCompactionStep: ((step: CompactionStep) => void) | undefined;
}

const DEFAULT_RETENTION_MS = 24 * 60 * 60 * 1000;
const DEFAULT_MAX_RECORDS = 200_000;

/** Fills in defaults; throws RangeError on a bound that makes no sense (a programming error). */
export function compileStoreOptions(raw: RequestStoreOptions): CompiledStoreOptions {
  return {
    dir: raw.dir,
    retentionMs: positiveInteger("retentionMs", raw.retentionMs ?? DEFAULT_RETENTION_MS),
    maxRecords: positiveInteger("maxRecords", raw.maxRecords ?? DEFAULT_MAX_RECORDS),
    compactMinBytes: positiveInteger("compactMinBytes", raw.compactMinBytes ?? 4 * 1024 * 1024),
    inlineOutcomeBytes: positiveInteger("inlineOutcomeBytes", raw.inlineOutcomeBytes ?? 4096),
    clock: raw.clock ?? systemClock,
    logger: raw.logger ?? silentLogger(),
    flockPath: raw.flockPath ?? "/usr/bin/flock",
    onCompactionStep: raw.onCompactionStep,
  };
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
