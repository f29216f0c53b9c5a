import { createPool as createMysqlPool, type Pool } from "mysql2/promise";

/** Options that every Lockstep connection needs, whatever the URL says. */
export function createPool(url: string, connectionLimit = 10): Pool {
  return createMysqlPool({
    uri: url,
    connectionLimit,
    // Times travel as UTC DATETIME(3); the server's zone must not shift them.
    timezone: "Z",
    dateStrings: false,
    supportBigNumbers: true,
    bigNumberStrings: false,
    multipleStatements: false,
    enableKeepAlive: true,
  });
}
