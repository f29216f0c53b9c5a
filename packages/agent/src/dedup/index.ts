export { RequestDeduplicator, type DedupRequest } from "./request-deduplicator.js";
export { RequestStore } from "./request-store.js";
export type { RequestStoreOptions } from "./store-options.js";
export { fingerprintOf, canonicalJson } from "./fingerprint.js";
export { toOperationRecord } from "./operation-record.js";
export type { CompactionStep } from "./log-file.js";
