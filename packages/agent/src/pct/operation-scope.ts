import { AsyncLocalStorage } from "node:async_hooks";
import type { Logger } from "@lockstep/shared";

/**
 * What every part of one mutating request carries, handed to its handler by the gRPC adapter
 * (grpc/unary.ts) and passed down explicitly: the request's ID (named in the events, intents
 * and lock clearances it causes), the signal that stops it, and its logger.
 */
export interface OperationScope {
  readonly requestId: string;
  /**
   * Aborted only by the agent's own stop (the deduplicator's `abortRunning`), never by a
   * caller that stopped waiting: it ends the operation's lock waits and its `pct` calls.
   */
  readonly signal: AbortSignal;
  /** The operation's logger: each line names the RPC, the request ID and the VMID. */
  readonly logger: Logger;
  /**
   * Who asked: the names (CN, DNS SANs) of the caller's client certificate, comma-separated;
   * absent for the agent's own operations and on a plaintext-loopback transport.
   */
  readonly client?: string;
}

/** An operation the agent runs for itself (the doctor's cycle): nothing but its own end stops it. */
export function ownOperation(requestId: string, logger: Logger): OperationScope {
  return { requestId, signal: new AbortController().signal, logger: logger.child({ requestId }) };
}

const ambient = new AsyncLocalStorage<OperationScope>();

/**
 * Runs `work` inside `op`: besides the scope passed down, every `pct` call made inside it,
 * however deep (a read that takes no scope), is interrupted when the operation's signal
 * aborts (ProcessPctRunner), because a stop of the agent must reach each of them.
 */
export function withOperation<T>(op: OperationScope, work: () => T): T {
  return ambient.run(op, work);
}

/** The signal of the operation the caller runs in, if any. */
export function operationSignal(): AbortSignal | undefined {
  return ambient.getStore()?.signal;
}
