import type { ReasonCode } from "@lockstep/shared";

/**
 * Lifecycle of one request record: `running` is written before the operation starts,
 * `succeeded`/`failed` before the reply; `interrupted` marks a `running` record found when
 * the store opened, i.e. the agent stopped mid-operation. `damaged` stands for a record whose
 * line failed its checksum (quarantined): what the request did is unknown, so the next call
 * with its ID is answered INTERRUPTED without running, and the record becomes `interrupted`.
 */
export type RequestStatus = "running" | "succeeded" | "failed" | "interrupted" | "damaged";

/** A failure as stored and replayed: the LockstepError's wire fields. */
export interface StoredError {
  readonly code: ReasonCode;
  readonly message: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/** The outcome a finished operation is recorded with. `value` must be JSON-safe. */
export type RequestOutcome = { readonly value: unknown } | { readonly error: StoredError };

/** The durable record of one request, as the store returns it. */
export interface RequestRecord {
  readonly requestId: string;
  /** Empty for a `damaged` record. */
  readonly method: string;
  readonly vmid?: number;
  /** Hex SHA-256 of the canonical parameters (`fingerprintOf`); empty for a `damaged` record. */
  readonly fingerprint: string;
  readonly status: RequestStatus;
  readonly startedMs: number;
  /** Absent while running; for `interrupted`, when the store noticed. */
  readonly finishedMs?: number;
  /** The response of a `succeeded` request (absent when the operation returned undefined). */
  readonly value?: unknown;
  /** The failure of a `failed` request, or INTERRUPTED for an `interrupted` or `damaged` one. */
  readonly error?: StoredError;
}

/** What starting a request needs: its identity and what tells a replay from a reuse. */
export interface RequestStart {
  readonly requestId: string;
  readonly method: string;
  readonly vmid?: number;
  readonly fingerprint: string;
}
