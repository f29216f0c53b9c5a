import { createConnection, type Connection, type RowDataPacket } from "mysql2/promise";

/** A connection whose handshake must finish within `timeoutMs`: a dead or paused node behind the proxy must not hang a test. */
export async function connectBounded(url: string, timeoutMs = 5_000): Promise<Connection> {
  return createConnection({ uri: url, connectTimeout: timeoutMs });
}

/** Runs `fn` on a fresh connection, closed after, all within `timeoutMs` (a write can stall while the cluster evicts a node). */
export async function withConnection<T>(
  url: string,
  fn: (c: Connection) => Promise<T>,
  timeoutMs = 30_000,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let connection: Connection | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      connection?.destroy();
      reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: "TEST_TIMEOUT" }));
    }, timeoutMs);
  });
  const work = (async () => {
    connection = await connectBounded(url, Math.min(timeoutMs, 5_000));
    try {
      return await fn(connection);
    } finally {
      await connection.end().catch(() => connection?.destroy());
    }
  })();
  // The loser of the race must not surface as an unhandled rejection.
  work.catch(() => undefined);
  try {
    return await Promise.race([work, bound]);
  } finally {
    clearTimeout(timer);
  }
}

/** The Galera node a connection landed on (its wsrep_node_name: n1, n2 or n3). */
export async function nodeName(c: Connection): Promise<string> {
  const [rows] = await c.query<RowDataPacket[]>("SELECT @@wsrep_node_name AS name");
  return String(rows[0]!.name);
}
