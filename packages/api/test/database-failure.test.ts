import test from "ava";
import { failureClass } from "../src/db/database-failure.js";

// Errors as mysql2 hands them over: a server error packet carries errno and sqlState; the
// driver's own connection errors carry a code and `fatal`, and no sqlState.
const server = (errno: number, sqlState = "HY000") => ({ errno, sqlState, code: `ER_${errno}` });
const driver = (code: string) => ({ code, fatal: true, errno: code === "ECONNREFUSED" ? -111 : undefined });

test("a deadlock, a Galera certification failure and a lock wait timeout are rolled back and retried", (t) => {
  for (const errno of [1213, 1205, 1020, 3101])
    t.is(failureClass(server(errno, "40001")), "rolled-back", `errno ${errno}`);
});

test("a Galera node outside the primary component (1047) and a commit failed by lost quorum (1180) are not-primary", (t) => {
  t.is(failureClass(server(1047, "08S01")), "not-primary");
  t.is(failureClass(server(1180)), "not-primary");
});

test("a broken, refused or killed connection is connection-lost", (t) => {
  for (const code of ["PROTOCOL_CONNECTION_LOST", "ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE"])
    t.is(failureClass(driver(code)), "connection-lost", code);
  t.is(
    failureClass({ message: "Can't add new command when connection is in closed state", fatal: true }),
    "connection-lost",
  );
  for (const errno of [1053, 1927, 4031])
    t.is(failureClass(server(errno, "08S01")), "connection-lost", `errno ${errno}`);
});

test("a duplicate key, a syntax error and bad credentials are fatal: running them again changes nothing", (t) => {
  t.is(failureClass(server(1062, "23000")), "fatal");
  t.is(failureClass(server(1064, "42000")), "fatal");
  t.is(failureClass({ ...server(1045, "28000"), fatal: true }), "fatal");
  t.is(failureClass(new Error("a bug")), "fatal");
  t.is(failureClass(undefined), "fatal");
});
