import { AsyncLocalStorage } from "node:async_hooks";

const scope = new AsyncLocalStorage<AbortSignal>();

/**
 * Runs `work` with `signal` as the operation's cancellation: every `pct` call made inside it,
 * however deep, is interrupted when the signal aborts (ProcessPctRunner). It is ambient, like
 * the log fields, because an operation makes its calls through many layers, and a stop of the
 * agent must reach each of them, not only those whose callers remembered to pass a signal.
 */
export function withOperationSignal<T>(signal: AbortSignal, work: () => T): T {
  return scope.run(signal, work);
}

/** The signal of the operation the caller runs in, if any. */
export function operationSignal(): AbortSignal | undefined {
  return scope.getStore();
}
