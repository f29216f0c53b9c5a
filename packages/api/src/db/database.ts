import { createPool, type Pool, type PoolConnection } from "mysql2/promise";
import { systemClock, type Clock } from "@lockstep/shared";
import { failureClass, failureSummary } from "./database-failure.js";
import { DatabaseUnavailableError } from "./database-unavailable-error.js";
import { StatementTimeoutError } from "./statement-timeout-error.js";

/** What a transaction's work (and any reader) may do: run statements, nothing else. */
export type Queryable = Pick<PoolConnection, "query">;

/** How long and how often a failed transaction is run again. */
export interface RetryPolicy {
  /** Attempts stop once the next one would start after this long. */
  readonly budgetMs: number;
  readonly baseMs: number;
  readonly maxMs: number;
}

/**
 * Long enough to ride out a Galera node's eviction (writes stall about 6 s) or a proxy's
 * failover; short enough that an HTTP client gets its 503 before it gives up on its own.
 */
const DEFAULT_RETRY: RetryPolicy = { budgetMs: 10_000, baseMs: 10, maxMs: 1_000 };

/**
 * Longer than any statement of the API takes, lock waits included (each connection waits at
 * most 5 s for a row lock: SESSION_SETTINGS); a partitioned database never answers at all.
 */
const DEFAULT_STATEMENT_TIMEOUT_MS = 8_000;

export interface DatabaseOptions {
  readonly connectionLimit?: number;
  readonly retry?: RetryPolicy;
  readonly clock?: Clock;
  readonly random?: () => number;
  /**
   * A statement (or BEGIN, or COMMIT) with no answer after this long has its connection
   * dropped and counts as a lost connection; null for none (schema migrations, whose DDL may
   * take long on a big table).
   */
  readonly statementTimeoutMs?: number | null;
}

/**
 * The API's one port to MySQL/MariaDB. A statement run on it directly is its own transaction;
 * `transaction` runs several as one. Either is run again, whole, when it fails in a way the
 * server rolled back or that a new connection may not meet (database-failure.ts), with
 * exponential backoff and full jitter, within the retry budget; past it the caller gets a
 * DatabaseUnavailableError (HTTP 503). A transaction's work must therefore be safe to run
 * again: it reads what it guards and its writes are guarded, so that even a commit whose
 * outcome was unknown is resolved by reading back.
 */
export class Database implements Queryable {
  readonly query: Queryable["query"];

  constructor(
    readonly pool: Pool,
    private readonly options: DatabaseOptions = {},
  ) {
    this.query = ((...args: Parameters<Queryable["query"]>) =>
      this.retrying(async () => {
        const conn = await this.pool.getConnection();
        try {
          const result = await this.timed(conn, () => (conn.query as (...a: unknown[]) => Promise<unknown>)(...args));
          conn.release();
          return result;
        } catch (err) {
          if (failureClass(err) === "connection-lost") conn.destroy();
          else conn.release();
          throw err;
        }
      })) as Queryable["query"];
  }

  /** Runs `work` in one transaction on one connection: committed when it returns, rolled back when it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.retrying(async () => {
      const conn = await this.pool.getConnection();
      const tx: Queryable = {
        query: ((...args: unknown[]) =>
          this.timed(conn, () => (conn.query as (...a: unknown[]) => Promise<unknown>)(...args))) as Queryable["query"],
      };
      try {
        await this.timed(conn, () => conn.beginTransaction());
        const result = await work(tx);
        await this.timed(conn, () => conn.commit());
        conn.release();
        return result;
      } catch (err) {
        if (failureClass(err) === "connection-lost") conn.destroy();
        else
          await this.timed(conn, () => conn.rollback()).then(
            () => conn.release(),
            () => conn.destroy(),
          );
        throw err;
      }
    });
  }

  async end(): Promise<void> {
    await this.pool.end();
  }

  /** `statement` on `conn`, or a StatementTimeoutError and the connection dropped when no answer comes in time. */
  private timed<T>(conn: PoolConnection, statement: () => Promise<T>): Promise<T> {
    const ms =
      this.options.statementTimeoutMs === undefined ? DEFAULT_STATEMENT_TIMEOUT_MS : this.options.statementTimeoutMs;
    if (ms === null) return statement();
    let timer: NodeJS.Timeout | undefined;
    const running = statement();
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // The dropped connection fails the statement again later: that failure is this one.
        running.catch(() => undefined);
        conn.destroy();
        reject(new StatementTimeoutError(ms));
      }, ms);
    });
    return Promise.race([running, expired]).finally(() => clearTimeout(timer));
  }

  private async retrying<T>(attempt: () => Promise<T>): Promise<T> {
    const { budgetMs, baseMs, maxMs } = this.options.retry ?? DEFAULT_RETRY;
    const clock = this.options.clock ?? systemClock;
    const random = this.options.random ?? Math.random;
    const started = clock.now();
    for (let n = 1; ; n++) {
      try {
        return await attempt();
      } catch (err) {
        const failure = failureClass(err);
        if (failure === "fatal") throw err;
        const wait = Math.round(random() * Math.min(maxMs, baseMs * 2 ** (n - 1)));
        if (clock.now() + wait - started > budgetMs)
          throw new DatabaseUnavailableError(failure, n, failureSummary(err), { cause: err });
        await clock.sleep(wait);
      }
    }
  }
}

/**
 * A JSON column's value: the driver gives text where the server sends the column as text
 * (MariaDB's JSON is LONGTEXT) and a parsed value where it announces JSON.
 */
export function jsonColumn(value: unknown): unknown {
  return typeof value === "string" ? JSON.parse(value) : value;
}

/** How many rows a write changed (as the driver counts them). */
export function affectedRows(result: unknown): number {
  return (result as { affectedRows: number }).affectedRows;
}

// A row lock waited for longer than 5 s fails the statement (1205), and the transaction is run
// again, instead of waiting 50 s (the server's default) past the statement timeout. A
// connection idle for 30 s is ended by the server (8 h by default): the API never leaves a
// transaction idle, so this ends only those of a client cut off by the network, whose open
// transaction would otherwise hold its row locks for hours. The pool closes its own idle
// connections after 10 s, before the server would.
const SESSION_SETTINGS =
  "SET SESSION wsrep_sync_wait = IF(@@wsrep_on, 1, @@wsrep_sync_wait), innodb_lock_wait_timeout = 5, wait_timeout = 30";
const POOL_IDLE_MS = 10_000;

/**
 * A Database for `url` with the options every Lockstep connection needs. On Galera, each
 * connection waits for the cluster to have applied every write it could see
 * (`wsrep_sync_wait=1`) before a read: after a failover the new writer may not have applied
 * the last commits yet, and the API must see its own writes.
 */
export function openDatabase(url: string, options: DatabaseOptions = {}): Database {
  const pool = createPool({
    uri: url,
    connectionLimit: options.connectionLimit ?? 10,
    // Times travel as UTC DATETIME(3); the server's zone must not shift them.
    timezone: "Z",
    dateStrings: false,
    supportBigNumbers: true,
    bigNumberStrings: false,
    multipleStatements: false,
    enableKeepAlive: true,
    idleTimeout: POOL_IDLE_MS,
    // The driver's stack capture for each statement cost the API a tenth of its CPU under load;
    // a failed statement's error still says which statement and why.
    trace: false,
  });
  // The raw (callback) pool's event hands over each new connection before its first use.
  pool.pool.on("connection", (conn) => {
    conn.query(SESSION_SETTINGS, () => undefined);
  });
  return new Database(pool, options);
}
