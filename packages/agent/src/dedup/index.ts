export { RequestDeduplicator, type DedupRequest, type DedupResult } from "./request-deduplicator.js";
export { RequestStore, type RequestStoreStats } from "./request-store.js";
export { type RequestStoreOptions, DEFAULT_MAX_RECORDS, DEFAULT_RETENTION_MS } from "./store-options.js";
export type { RequestRecord, RequestStatus, RequestOutcome, RequestStart, StoredError } from "./request-record.js";
export { fingerprintOf, canonicalJson } from "./fingerprint.js";
export { isReplayedFailure } from "./failure-policy.js";
export { toOperationRecord } from "./operation-record.js";
export type { CompactionStep } from "./log-file.js";
