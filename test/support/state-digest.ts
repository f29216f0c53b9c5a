import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { readCalls } from "@lockstep/sim";
import type { TestDatabase } from "../../packages/api/test/support/test-database.js";

// Columns that background work (health probes, reconcile passes, token use) moves on its
// own; everything else a refused request could have touched is compared.
const VOLATILE: Record<string, readonly string[]> = {
  nodes: [
    "health_state",
    "last_health",
    "last_seen_at",
    "unreachable_since",
    "updated_at",
    "cluster",
    "cluster_members",
  ],
  containers: ["observed_state", "observed_at"],
  api_tokens: ["last_used_at"],
};
const TABLES = [
  "nodes",
  "containers",
  "vmid_allocations",
  "port_allocations",
  "operations",
  "idempotency_keys",
  "incidents",
  "alerts",
  "allocator_locks",
  "vmid_pool",
  "drift_findings",
  "api_tokens",
];

/** Every row of every table, minus volatile columns, as one comparable map of table → digest. */
export async function databaseState(pool: TestDatabase["pool"]): Promise<Record<string, string>> {
  const state: Record<string, string> = {};
  for (const table of TABLES) {
    const [rows] = (await pool.query(`SELECT * FROM ${table}`)) as unknown as [Record<string, unknown>[]];
    const kept = rows
      .map((row) => Object.fromEntries(Object.entries(row).filter(([column]) => !VOLATILE[table]?.includes(column))))
      .map((row) => JSON.stringify(row))
      .sort();
    state[table] = `${rows.length} rows ${createHash("sha256").update(kept.join("\n")).digest("hex").slice(0, 16)}`;
  }
  return state;
}

/**
 * A simulated node: the `pct` calls that change something, and a digest of every file in
 * the node (configs, container filesystems, locks). Left out: the simulator's own call log,
 * and the agent's state directory, where it keeps its record of every request it refused.
 */
export function nodeState(root: string): { mutatingCalls: string[]; files: string } {
  const mutatingCalls = readCalls(root)
    .filter((c) => c.event === "start" && !["list", "config", "status", "listsnapshot"].includes(c.argv[0]!))
    .map((c) => (c.event === "start" ? c.argv.join(" ") : ""));
  const hash = createHash("sha256");
  for (const file of walk(root))
    hash
      .update(`${path.relative(root, file)}\0`)
      .update(readFileSync(file))
      .update("\0");
  return { mutatingCalls, files: hash.digest("hex") };
}

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const full = path.join(dir, name);
      if (name === "calls.jsonl" || name === "lockstep-agent") return [];
      return statSync(full).isDirectory() ? walk(full) : [full];
    });
}
