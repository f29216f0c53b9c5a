import anyTest, { type TestFn } from "ava";
import { GaleraPlatform } from "./fault-injection/galera-platform.js";
import type { ScenarioReport } from "./fault-injection/run-scenario.js";
import { seedTests } from "./fault-injection/seed-tests.js";

/**
 * The short seeded run of the fault-injection suite on a 3-node Galera cluster behind HAProxy,
 * every API process, agent and database node in a network namespace of its own: besides the
 * faults of the nodes and processes, the writer is killed (the proxy fails over), a database
 * node is partitioned from the others (it loses quorum), an API is cut off from the database
 * and an agent from the APIs, by real kernel drops. Each test is one invariant of the settled
 * system. Needs root (namespaces; the cluster's nodes run as mysql).
 */
seedTests(anyTest as TestFn<{ report: ScenarioReport }>, "galera", async (nodes, apiProcesses) => {
  const platform = await GaleraPlatform.start(nodes, apiProcesses, (line) => console.log(`network: ${line}`));
  return { database: { kind: "galera", platform }, destroy: (keep) => platform.destroy(keep) };
});
