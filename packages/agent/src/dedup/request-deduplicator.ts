import { LockstepError, requestIdProblem, silentLogger, type Logger } from "@lockstep/shared";
import { InvalidArgumentError, RequestIdReusedError, UnavailableError } from "../errors.js";
import { isReplayedFailure } from "./failure-policy.js";
import { fingerprintOf } from "./fingerprint.js";
import type { RequestRecord, StoredError } from "./request-record.js";
import type { RequestStore } from "./request-store.js";

/** A mutating request as the deduplicator sees it: its ID and everything that defines it. */
export interface DedupRequest {
  readonly requestId: string;
  readonly method: string;
  readonly vmid?: number;
  /** Everything that defines the request except its ID; fingerprinted canonically. */
  readonly params: unknown;
}

/**
 * The value, and whether this caller's call did not run the operation itself: true for a
 * stored outcome replayed and for a duplicate that joined an execution already in flight.
 */
export interface DedupResult<T> {
  readonly value: T;
  readonly replayed: boolean;
}

interface InFlight {
  readonly method: string;
  readonly vmid: number | undefined;
  readonly fingerprint: string;
  readonly promise: Promise<unknown>;
  readonly controller: AbortController;
}

/**
 * Exactly one execution per request ID, across concurrent duplicates and agent restarts.
 * Decision order for an ID: in flight in this process → wait for that execution; a damaged
 * record → INTERRUPTED, nothing run (`answerDamaged`); a live record → replay it (a succeeded value, or a failure that `isReplayedFailure` keeps);
 * otherwise (new, expired, interrupted, or a transient failure) → record `running`
 * durably, execute, record the outcome durably, reply. An ID seen with another method,
 * VMID or fingerprint fails with REQUEST_ID_REUSED at every stage.
 */
export class RequestDeduplicator {
  private readonly inFlight = new Map<string, InFlight>();
  private readonly logger: Logger;

  constructor(
    private readonly store: RequestStore,
    logger?: Logger,
  ) {
    this.logger = logger ?? silentLogger();
  }

  /**
   * Runs `execute` at most once for the request's ID and returns its value, or the stored
   * outcome of an earlier run. Values must be JSON-safe. `execute` gets a signal that
   * `abortRunning` aborts (shutdown); after an abort it should stop and throw.
   * `beforeStart` runs only when the request is about to execute (not for a replay or a
   * duplicate in flight); if it throws, nothing is recorded and the ID stays unused.
   */
  async run<T>(
    request: DedupRequest,
    execute: (signal: AbortSignal) => Promise<T>,
    beforeStart: () => void = () => undefined,
  ): Promise<DedupResult<T>> {
    const problem = requestIdProblem(request.requestId);
    if (problem) throw new InvalidArgumentError("request_id", problem);
    const fingerprint = fingerprintOf(request.params);
    // From here to `start` nothing awaits: the in-flight check and registration are atomic.
    const running = this.inFlight.get(request.requestId);
    if (running) {
      assertSameRequest(running, request, fingerprint);
      return { value: (await running.promise) as T, replayed: true };
    }
    const record = this.store.get(request.requestId);
    if (record?.status === "damaged") throw await this.answerDamaged(record, request, fingerprint);
    if (record) {
      assertSameRequest(record, request, fingerprint);
      if (record.status === "succeeded") return { value: record.value as T, replayed: true };
      if (record.status === "failed" && record.error && isReplayedFailure(record.error))
        throw replayedError(record.error);
      this.logger.info("re-executing request", {
        requestId: record.requestId,
        method: record.method,
        previous: record.status,
        reason: record.error?.code,
      });
    }
    beforeStart();
    return { value: await this.start(request, fingerprint, execute), replayed: false };
  }

  /**
   * A request whose record was damaged on disk: what it did is unknown, so it is neither
   * replayed nor run; the caller gets INTERRUPTED and re-reads the node, and the record
   * becomes an ordinary interrupted one of this request (a further retry runs it).
   */
  private async answerDamaged(
    record: RequestRecord,
    request: DedupRequest,
    fingerprint: string,
  ): Promise<LockstepError> {
    const error = record.error ?? {
      code: "INTERRUPTED",
      message: `the agent's record of request '${request.requestId}' was damaged`,
      metadata: {},
    };
    const { requestId, method, vmid } = request;
    await this.store.settleDamaged({ requestId, method, vmid, fingerprint }, error);
    this.logger.warn("answered a request whose record was damaged with INTERRUPTED", { requestId, method, vmid });
    return replayedError(error);
  }

  /** The durable record of a request, for GetOperation. */
  get(requestId: string): RequestRecord | undefined {
    return this.store.get(requestId);
  }

  /** Records found running when the store opened: the daemon logs and publishes them. */
  get interruptedAtStart(): readonly RequestRecord[] {
    return this.store.interruptedAtOpen;
  }

  /** How many executions are running now. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /**
   * Aborts the signal of every running execution (the end of a shutdown drain). The default
   * reason is UNAVAILABLE, a transient failure: a retry with the same ID runs again.
   */
  abortRunning(reason: unknown = new UnavailableError("the agent is shutting down")): void {
    for (const execution of this.inFlight.values()) execution.controller.abort(reason);
  }

  /** Resolves once no execution is running, including ones started while waiting. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0)
      await Promise.allSettled([...this.inFlight.values()].map((execution) => execution.promise));
  }

  private start<T>(
    request: DedupRequest,
    fingerprint: string,
    execute: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const { requestId, method, vmid } = request;
    const controller = new AbortController();
    // The entry leaves the map only after the outcome is in the store, so a duplicate
    // always finds one or the other.
    const run = (): Promise<T> => {
      // Aborted while the running record was being written: do not start the operation at all.
      controller.signal.throwIfAborted();
      return execute(controller.signal);
    };
    const promise = this.executeOnce({ requestId, method, vmid, fingerprint }, run).finally(() =>
      this.inFlight.delete(requestId),
    );
    this.inFlight.set(requestId, { method, vmid, fingerprint, promise, controller });
    return promise;
  }

  private async executeOnce<T>(
    start: { requestId: string; method: string; vmid: number | undefined; fingerprint: string },
    execute: () => Promise<T>,
  ): Promise<T> {
    await this.store.begin(start);
    let value: T;
    try {
      value = await execute();
    } catch (err) {
      await this.record(start.requestId, { error: storedErrorFrom(err) }, err);
      throw err;
    }
    try {
      await this.store.finish(start.requestId, { value });
    } catch (err) {
      if (!(err instanceof TypeError)) throw err;
      // A response that cannot be stored is a bug in the operation; record it as a failure.
      await this.record(start.requestId, { error: { code: "INTERNAL", message: err.message, metadata: {} } }, err);
      throw err;
    }
    return value;
  }

  private async record(requestId: string, outcome: { error: StoredError }, original: unknown): Promise<void> {
    try {
      await this.store.finish(requestId, outcome);
    } catch (err) {
      // The reply must not go out before the outcome is durable: the storage failure wins.
      this.logger.error("could not record a failed request", {
        requestId,
        err: String(err),
        original: String(original),
      });
      throw err;
    }
  }
}

function assertSameRequest(
  seen: { method: string; vmid?: number | undefined; fingerprint: string },
  request: DedupRequest,
  fingerprint: string,
): void {
  if (seen.method === request.method && seen.vmid === request.vmid && seen.fingerprint === fingerprint) return;
  const what = seen.method === request.method ? "with different parameters" : `for ${seen.method}`;
  throw new RequestIdReusedError(request.requestId, `request ID '${request.requestId}' was already used ${what}`);
}

/** The stored form of whatever an operation threw; unexpected errors keep their internals out of the log. */
function storedErrorFrom(err: unknown): StoredError {
  if (err instanceof LockstepError) return { code: err.code, message: err.message, metadata: { ...err.metadata } };
  return { code: "INTERNAL", message: "internal error; see the agent's log", metadata: {} };
}

function replayedError(error: StoredError): LockstepError {
  return new LockstepError(error.code, error.message, { ...error.metadata });
}
