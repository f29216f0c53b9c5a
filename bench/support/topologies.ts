import { execFileSync } from "node:child_process";
import mysql from "mysql2/promise";
import { serverUrl } from "../../packages/api/test/support/test-database.js";
import { GaleraCluster } from "../../test/support/galera-cluster.js";
import { serverPid } from "./cpu-time.js";

/** A database the API can run on, as the benchmarks measure it. */
export interface Topology {
  readonly name: string;
  /** A server URL without a database: each benchmark makes its own (createTestDatabase). */
  readonly server: string;
  /** The processes of the database (and its proxy), whose CPU counts as the database's. */
  readonly dbPids: readonly number[];
}

/**
 * Runs `measure` on the project's MariaDB ("one server"), then, unless BENCH_GALERA=0, on a
 * 3-node Galera cluster through its HAProxy (scripts/galera.sh), started for it in a directory
 * of its own and destroyed after (kept, and named, when the measurement failed).
 */
export async function forEachTopology<T>(measure: (topology: Topology) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  const single = mysql.createPool({ uri: serverUrl(), connectionLimit: 1 });
  const pid = await serverPid(single).finally(() => single.end());
  results.push(await measure({ name: "one server", server: serverUrl(), dbPids: [pid] }));
  if (process.env.BENCH_GALERA === "0") return results;
  console.log("\nstarting a 3-node Galera cluster with its proxy (scripts/galera.sh)...");
  const galera = await GaleraCluster.start();
  let failed = true;
  try {
    // Its three mariadbd and HAProxy are the processes started from its directory.
    const pids = execFileSync("pgrep", ["-f", galera.dir]).toString().trim().split("\n").map(Number);
    results.push(await measure({ name: "Galera, 3 nodes through the proxy", server: galera.url, dbPids: pids }));
    failed = false;
  } finally {
    await galera.destroy(failed);
  }
  return results;
}
