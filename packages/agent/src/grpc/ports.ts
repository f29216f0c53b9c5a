import type { agentV1 } from "@lockstep/shared";
import type { DedupRequest } from "../dedup/request-deduplicator.js";
import type { OperationScope } from "../pct/operation-scope.js";

/** Exactly one effect per request ID (implemented in dedup/). Values must be JSON-safe. */
export interface Deduplicator {
  /**
   * `beforeStart` runs only when the request will execute; if it throws, nothing is recorded.
   * `execute` gets the execution's signal, aborted when the agent stops (`abortRunning`).
   */
  run<T>(
    request: DedupRequest,
    execute: (signal: AbortSignal) => Promise<T>,
    beforeStart?: () => void,
  ): Promise<{ value: T; replayed: boolean }>;
}

/** The agent's durable record of one request, for GetOperation. */
export interface OperationLookup {
  get(requestId: string): agentV1.OperationRecord | undefined;
}

/** Lock inspection and clearing (implemented in locks/). */
export interface LockService {
  inspect(vmid: number): Promise<agentV1.LockReport>;
  clear(vmid: number, removeFile: boolean, op: OperationScope): Promise<Omit<agentV1.ClearLockResponse, "replayed">>;
}
