import anyTest, { type TestFn } from "ava";
import { PrivateMariaDb } from "./fault-injection/private-mariadb.js";
import type { ScenarioReport } from "./fault-injection/run-scenario.js";
import { seedTests } from "./fault-injection/seed-tests.js";

/**
 * The short seeded run of the fault-injection suite on one MariaDB server. Real API processes,
 * agents over mTLS on simulated nodes and a MariaDB of its own take a seeded workload while
 * agents and APIs are SIGKILLed, the database restarts, pct hangs or crashes, pushes land
 * late, a node stops answering, an admin or HA migrates containers, pmxcfs hangs, stops or
 * loses quorum, and the host fills with processes. Each test is one invariant of the settled
 * system.
 */
seedTests(anyTest as TestFn<{ report: ScenarioReport }>, "single", async () => {
  const server = await PrivateMariaDb.start();
  return { database: { kind: "single", server }, destroy: () => server.destroy() };
});
