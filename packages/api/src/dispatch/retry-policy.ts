import type { ReasonCode } from "@lockstep/shared";

/**
 * Which agent failures a job retries. Transient ones (the node busy, locked or unreachable,
 * an agent restarting) are retried with the same request ID, which the agent deduplicates;
 * the rest are answers that another attempt would only repeat.
 */
const RETRYABLE: ReadonlySet<ReasonCode> = new Set<ReasonCode>([
  "LOCK_HELD",
  "HYPERVISOR_UNRESPONSIVE",
  "UNAVAILABLE",
  "INTERRUPTED",
  "INTERNAL",
  "RESOURCE_EXHAUSTED",
  "STATE_STORAGE_FULL",
  "CLUSTER_NO_QUORUM",
]);

export function isRetryable(code: ReasonCode): boolean {
  return RETRYABLE.has(code);
}

/** Exponential backoff with full jitter, capped: 1 s, 2 s, 4 s ... at most `maxMs`. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
