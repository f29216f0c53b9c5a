/**
 * A statement that got no answer in time: its connection was dropped, as a partitioned
 * network never answers and TCP would wait minutes to say so. Shaped as the driver's own
 * fatal errors (`fatal`, no SQL state), so that it is a lost connection to whoever judges it:
 * run again on a new connection, and a COMMIT's outcome read back.
 */
export class StatementTimeoutError extends Error {
  readonly code = "STATEMENT_TIMEOUT";
  readonly fatal = true;

  constructor(ms: number) {
    super(`no answer from the database within ${ms} ms; the connection was dropped`);
    this.name = "StatementTimeoutError";
  }
}
