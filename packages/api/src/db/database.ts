import { createPool, type Pool, type PoolConnection } from "mysql2/promise";
import { systemClock, type Clock } from "@lockstep/shared";
import { failureClass, failureSummary, type FailureClass } from "./database-failure.js";
import { DatabaseUnavailableError } from "./database-unavailable-error.js";

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
export const DEFAULT_RETRY: RetryPolicy = { budgetMs: 10_000, baseMs: 10, maxMs: 1_000 };

export interface DatabaseOptions {
  readonly connectionLimit?: number;
  readonly retry?: RetryPolicy;
  readonly clock?: Clock;
  readonly random?: () => number;
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

  constructor(readonly pool: Pool, private readonly options: DatabaseOptions = {}) {
    this.query = ((...args: Parameters<Queryable["query"]>) => this.retrying(() => (pool.query as (...a: unknown[]) => Promise<unknown>)(...args))) as Queryable["query"];
  }

  /** Runs `work` in one transaction on one connection: committed when it returns, rolled back when it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.retrying(async () => {
      const conn = await this.pool.getConnection();
      try {
        await conn.beginTransaction();
        const result = await work(conn);
        await conn.commit();
        conn.release();
        return result;
      } catch (err) {
        if (failureClass(err) === "connection-lost") conn.destroy();
        else await conn.rollback().then(() => conn.release(), () => conn.destroy());
        throw err;
      }
    });
  }

  async end(): Promise<void> {
    await this.pool.end();
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
        if (clock.now() + wait - started > budgetMs) throw new DatabaseUnavailableError(failure, n, failureSummary(err), { cause: err });
        await clock.sleep(wait);
      }
    }
  }
}

/** How many rows a write changed (as the driver counts them). */
export function affectedRows(result: unknown): number {
  return (result as { affectedRows: number }).affectedRows;
}

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
  });
  // The raw (callback) pool's event hands over each new connection before its first use.
  pool.pool.on("connection", (conn) => {
    conn.query("SET SESSION wsrep_sync_wait = IF(@@wsrep_on, 1, @@wsrep_sync_wait)", () => undefined);
  });
  return new Database(pool, options);
}
