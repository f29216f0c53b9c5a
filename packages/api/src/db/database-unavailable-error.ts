import { LockstepError } from "@lockstep/shared";
import type { FailureClass } from "./database-failure.js";

/**
 * The database kept failing in a way worth retrying (deadlocks, a Galera failover, lost
 * connections) for longer than the retry budget: the caller should come back shortly. Nothing
 * of the transaction was kept, or, when the last commit's outcome was unknown, the retried
 * request resolves it (its Idempotency-Key and guarded transitions read back what committed).
 */
export class DatabaseUnavailableError extends LockstepError {
  constructor(
    readonly failure: Exclude<FailureClass, "fatal">,
    attempts: number,
    summary: string,
    options?: ErrorOptions,
  ) {
    super(
      "UNAVAILABLE",
      `the database is unavailable (${summary}; ${attempts} attempt(s)); retry shortly`,
      {},
      options,
    );
  }
}
