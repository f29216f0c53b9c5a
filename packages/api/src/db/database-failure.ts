/**
 * Why a statement or transaction failed, as far as running it again is concerned. Decided
 * here and nowhere else: every transaction of the API goes through `Database`, which retries
 * the retryable classes as a whole and turns the rest into errors.
 *
 * - `rolled-back`: the server aborted the transaction and kept nothing: a deadlock or a
 *   Galera certification failure (1213), a lock wait timeout (1205), a record changed under
 *   a consistent read (1020), a Group Replication rollback at commit (3101).
 * - `not-primary`: a Galera node outside the primary component refuses work (1047) or fails
 *   the commit in flight when quorum goes (1180). Another node (through the proxy) or the
 *   same one once quorum returns takes it.
 * - `connection-lost`: the connection broke or could not be made, or the server is shutting
 *   down or killed it. Before COMMIT nothing was kept; during COMMIT the outcome is unknown,
 *   which is why every transaction re-reads what it guards and may safely run again.
 * - `fatal`: anything else (a bug, a constraint the caller must handle, bad credentials).
 */
export type FailureClass = "rolled-back" | "not-primary" | "connection-lost" | "fatal";

const ROLLED_BACK: ReadonlyMap<number, string> = new Map([
  [1213, "deadlock or certification failure"],
  [1205, "lock wait timeout"],
  [1020, "record changed since it was read"],
  [3101, "rolled back during commit"],
]);

const NOT_PRIMARY: ReadonlyMap<number, string> = new Map([
  [1047, "the node is not ready for use (not in the primary component)"],
  [1180, "error during commit (quorum lost)"],
]);

// Server-sent errors that end the connection: shutdown in progress, connection killed,
// disconnected for inactivity.
const CONNECTION_ENDED: ReadonlySet<number> = new Set([1053, 1927, 4031]);

interface DriverError {
  readonly errno?: number;
  readonly code?: string;
  readonly sqlState?: string;
  readonly fatal?: boolean;
}

/** The class of a mysql2 error (or anything thrown while talking to the database). */
export function failureClass(err: unknown): FailureClass {
  const e = (err ?? {}) as DriverError;
  if (typeof e.errno === "number" && ROLLED_BACK.has(e.errno)) return "rolled-back";
  if (typeof e.errno === "number" && NOT_PRIMARY.has(e.errno)) return "not-primary";
  if (typeof e.errno === "number" && CONNECTION_ENDED.has(e.errno)) return "connection-lost";
  // The driver's own fatal errors carry no SQL state (the server sent no error packet):
  // a reset, a refused or timed-out connect, a socket closed under a command.
  if (e.fatal === true && e.sqlState === undefined) return "connection-lost";
  return "fatal";
}

/** A few words on a retryable failure, for logs and the final error. */
export function failureSummary(err: unknown): string {
  const e = (err ?? {}) as DriverError & { message?: string };
  const known = typeof e.errno === "number" ? (ROLLED_BACK.get(e.errno) ?? NOT_PRIMARY.get(e.errno)) : undefined;
  return known ? `${known} (${e.errno})` : `${e.code ?? "error"}: ${e.message ?? String(err)}`;
}

/**
 * The unique key a statement's row collided with (error 1062), or null for any other error.
 * A unique key is how the API tells "someone has this already" (a VMID, a port, a key): the
 * statement is undone, its transaction goes on. MariaDB names the key `'PRIMARY'`, MySQL 8
 * `'table.PRIMARY'`.
 */
export function duplicateKey(err: unknown): string | null {
  const e = (err ?? {}) as DriverError & { sqlMessage?: string };
  if (e.errno !== 1062) return null;
  return /for key '(?:[^'.]+\.)?([^'.]+)'$/.exec(e.sqlMessage ?? "")?.[1] ?? "";
}
