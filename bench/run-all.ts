// Runs every benchmark in turn and prints all their figures, after the machine they ran on.
// Run: pnpm bench   (BENCH_ONLY=name,name to run some; sizes as each file says)
import { spawn, spawnSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describeMachine } from "./support/machine.js";
import { msSince } from "./support/timing.js";

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.dirname(BENCH_DIR);
const ALL = [
  "api-create-throughput",
  "dispatch-latency",
  "idempotent-replay",
  "inspect-lock",
  "busy-host-inspect-lock",
  "agent-dedup",
  "end-to-end",
  "reconcile-pass",
  "agent-memory",
];

/** Runs one benchmark file with the same TypeScript loader as this process; resolves with its exit status. */
function run(name: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, path.join(BENCH_DIR, `${name}.ts`)], {
      cwd: REPO,
      stdio: "inherit",
    });
    child.on("close", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY?.split(",").filter(Boolean);
  const unknown = only?.filter((name) => !ALL.includes(name)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown benchmark(s) ${unknown.join(", ")}; known: ${ALL.join(", ")}`);
  const started = spawnSync(path.join(REPO, "scripts/mariadb.sh"), ["start"], { stdio: "inherit" });
  if (started.status !== 0) throw new Error("scripts/mariadb.sh start failed");

  console.log("machine:");
  for (const line of await describeMachine()) console.log(`  ${line}`);
  const results: { name: string; status: number; seconds: number; load: string }[] = [];
  for (const name of only ?? ALL) {
    console.log(`\n=== ${name} ${"=".repeat(Math.max(0, 70 - name.length))}`);
    const start = process.hrtime.bigint();
    const status = await run(name);
    results.push({ name, status, seconds: msSince(start) / 1000, load: os.loadavg()[0]!.toFixed(2) });
  }
  console.log("\nsummary:");
  for (const r of results)
    console.log(
      `  ${r.name.padEnd(24)} ${r.status === 0 ? "ok    " : `FAILED (exit ${r.status})`} ${r.seconds.toFixed(0).padStart(5)} s   load average (1 min) after: ${r.load}`,
    );
  if (results.some((r) => r.status !== 0)) process.exitCode = 1;
}

await main();
