/**
 * MariaDB errors after which the whole transaction may simply be run again: deadlock (1213),
 * lock wait timeout (1205), record changed (1020). The server has rolled the work back.
 */
const RETRYABLE = new Set([1213, 1205, 1020]);

export function isRetryableTransactionError(err: unknown): boolean {
  return RETRYABLE.has((err as { errno?: number }).errno ?? 0);
}

/** Runs `attempt` until it succeeds or fails with something else, at most `times` times. */
export async function retryTransaction<T>(attempt: () => Promise<T>, times = 6): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (!isRetryableTransactionError(err) || n >= times) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * 10 * n));
    }
  }
}

/**
 * Runs `work` in a transaction on its own connection: committed when it returns, rolled back
 * when it throws, and run again from the start after a deadlock or lock timeout.
 */
export async function inTransaction<T>(pool: import("mysql2/promise").Pool, work: (tx: import("mysql2/promise").PoolConnection) => Promise<T>): Promise<T> {
  return retryTransaction(async () => {
    const conn = await pool.getConnection();
    try {
      await conn.beginTransaction();
      const result = await work(conn);
      await conn.commit();
      return result;
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  });
}
