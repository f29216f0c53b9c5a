import { DETAIL_REASON, type ReasonCode } from "@lockstep/shared";
import type { StoredError } from "./request-record.js";

/**
 * Which stored failures a retry with the same request ID gets back (replay) and which it
 * re-executes. Every failure is recorded (GetOperation shows it); this table only decides
 * what a retry does, so changing it needs no migration of the log.
 *
 * Replayed: failures that are a property of the request or of the node at the time the
 * operation ran, where running it again would either fail the same way or, worse, apply a
 * half-done effect a second time (COMMAND_FAILED, VERIFICATION_FAILED: `pct` may have done
 * part of the work). A caller that wants another attempt after fixing the cause (say,
 * clearing a stale lock after FAILED_PRECONDITION) sends a new request ID.
 *
 * Re-executed: transient failures. Caching LOCK_HELD or HYPERVISOR_UNRESPONSIVE for the
 * retention period (24 h) would turn the caller's legitimate retry into a replay of the
 * outage. The outcome of HYPERVISOR_UNRESPONSIVE and INTERNAL is unknown, so the operation
 * code must converge by re-reading the node first, exactly as after an interruption.
 *
 * A `Record` over every ReasonCode, so a new code cannot be added without a decision here.
 */
const REPLAY_FAILURE: Record<ReasonCode, boolean> = {
  INVALID_ARGUMENT: true,
  // Where a container is, is the cluster's state of the moment, not the request's: it may be
  // migrated back, relocated back by HA, or have read as missing while pmxcfs swapped its config
  // (cluster-fs.ts). Nothing was done to a container that was not found; a retry looks again.
  NOT_FOUND: false,
  ALREADY_EXISTS: true,
  FAILED_PRECONDITION: true,
  // The container is someone else's: running the request again would be refused again.
  FOREIGN_CONTAINER: true,
  COMMAND_FAILED: true,
  VERIFICATION_FAILED: true,
  // The node's policy refused the request before anything ran (policy/node-policy.ts); its
  // owner may have widened the policy since: a retry is checked again, never handed the refusal.
  PERMISSION_DENIED: false,
  LOCK_HELD: false,
  HYPERVISOR_UNRESPONSIVE: false,
  UNAVAILABLE: false,
  INTERRUPTED: false,
  INTERNAL: false,
  // A Proxmox task worker of the killed call still runs: a retry waits for it and re-reads the node.
  OPERATION_RUNNING: false,
  // Nothing ran (the request could not be recorded); a retry after space is freed runs it.
  STATE_STORAGE_FULL: false,
  RESOURCE_EXHAUSTED: false,
  UNAUTHENTICATED: false,
  // Nothing ran: /etc/pve was read-only; a retry once the cluster is quorate runs it.
  CLUSTER_NO_QUORUM: false,
  // Never an operation's outcome (it is decided before anything runs); re-executing is harmless.
  REQUEST_ID_REUSED: false,
};

/** True when a retry with the same ID gets this stored failure back instead of running again. */
export function isReplayedFailure(error: Pick<StoredError, "code" | "metadata">): boolean {
  // A container found stopped: its power state is the node's of the moment, like NOT_FOUND's
  // whereabouts (HA starts it again, a job's restart does); nothing was done; a retry looks again.
  if (error.metadata.reason === DETAIL_REASON.notRunning) return false;
  return REPLAY_FAILURE[error.code];
}

/** Narrows a code read from disk; unknown codes (a newer agent wrote them) count as INTERNAL. */
export function knownReasonCode(code: unknown): ReasonCode {
  return typeof code === "string" && Object.hasOwn(REPLAY_FAILURE, code) ? (code as ReasonCode) : "INTERNAL";
}
