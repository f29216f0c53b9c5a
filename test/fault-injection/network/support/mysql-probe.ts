// A database client in a host of a test's network (node --import tsx mysql-probe.ts <url> <connect-timeout-ms>):
// one mysql2 connection, reported as {"event":"connect","ok","ms","code"}; then, for each line
// on stdin (a query timeout in ms), `SELECT 1` on it, reported as {"event":"query",...}.
// Ends when stdin closes, or after a connect that failed.
import { createInterface } from "node:readline";
import mysql from "mysql2/promise";

const [url, connectTimeout] = process.argv.slice(2);
const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
const code = (err: unknown) => (err as { code?: string }).code ?? String(err);

let started = Date.now();
let connection: mysql.Connection;
try {
  connection = await mysql.createConnection({ uri: url!, connectTimeout: Number(connectTimeout) });
  print({ event: "connect", ok: true, ms: Date.now() - started, code: null });
} catch (err) {
  print({ event: "connect", ok: false, ms: Date.now() - started, code: code(err) });
  process.exit(0);
}
// A connection whose peer vanished errors on its own later; the query reports it.
connection.on("error", () => undefined);

for await (const line of createInterface({ input: process.stdin })) {
  started = Date.now();
  try {
    await connection.query({ sql: "SELECT 1 AS one", timeout: Number(line) });
    print({ event: "query", ok: true, ms: Date.now() - started, code: null });
  } catch (err) {
    print({ event: "query", ok: false, ms: Date.now() - started, code: code(err) });
  }
}
connection.destroy();
