// Benchmark: the agent's resident memory (VmRSS and its peak VmHWM, from /proc/<pid>/status)
// idle, while 100,000 dedup records arrive through real DestroyContainer RPCs (new request IDs,
// each recorded durably, no `pct` run), and holding them after a restart that loads them back
// from the log. The agent runs as its systemd unit runs it (the unit's NODE_OPTIONS and
// MALLOC_ARENA_MAX, and the agent's default heapGrowthPercent), and, in the same run, with
// Node's and V8's defaults (heapGrowthPercent 0). Each prints the agent's CPU time per 1,000
// records, what the memory settings cost. Baseline: a bare Node process of the same binary,
// idle. Goal: peak under 150 MiB while filling, idle under 80 MiB.
// Run: pnpm exec tsx bench/agent-memory.ts   (BENCH_MEMORY_RECORDS, BENCH_CONCURRENCY)
import { spawn } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { logEntry, SuiteScope } from "@lockstep/shared";
import { agentOnSim } from "../packages/agent/test/integration/agent-harness.js";
import { sizeFromEnv } from "./support/bench-env.js";
import { fillDedupRecords, requestLogPath } from "./support/dedup-records.js";
import { mib, residentBytes } from "./support/proc-memory.js";
import { cpuMs } from "./support/cpu-time.js";
import { count, ratio } from "./support/stats.js";
import { msSince, sleep } from "./support/timing.js";

/** What the run starts: its nodes are removed when it ends. */
const bench = new SuiteScope();

const RECORDS = sizeFromEnv("BENCH_MEMORY_RECORDS", 100_000);
const CONCURRENCY = sizeFromEnv("BENCH_CONCURRENCY", 32);
// Time for start-up work and the first garbage collections to settle before a reading.
const SETTLE_MS = 5000;
const UNIT = fileURLToPath(new URL("../packages/agent/systemd/lockstep-agent.service", import.meta.url));
// The unit's settings that shape memory; the rest of its environment is the node's.
const MEMORY_SETTINGS = ["NODE_OPTIONS", "MALLOC_ARENA_MAX"];

/** The memory settings of the agent's unit (`Environment=KEY=value` lines). */
function unitMemoryEnvironment(): Record<string, string> {
  const lines = readFileSync(UNIT, "utf8").split("\n");
  const pairs = lines
    .map((line) => /^Environment=([A-Z_]+)=(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && MEMORY_SETTINGS.includes(m[1]!))
    .map((m) => [m[1]!, m[2]!] as const);
  return Object.fromEntries(pairs);
}

interface Figures {
  readonly idle: number;
  readonly filled: { rss: number; peak: number };
  readonly reloaded: { rss: number; peak: number };
  readonly fillMs: number;
  readonly fillCpuMs: number;
  readonly logBytes: number;
}

async function bareNodeRss(): Promise<number> {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  try {
    await sleep(SETTLE_MS);
    return residentBytes(child.pid!).rss;
  } finally {
    child.kill("SIGKILL");
  }
}

/** One agent with `env`, from idle through filling to holding its records after a restart. */
async function measure(env: Record<string, string>, prefix: string): Promise<Figures> {
  let agent = await agentOnSim(bench, env);
  const root = agent.root;
  try {
    // One read-only RPC, so that the mTLS connection exists as it does on an idle node.
    await agent.client.inspectLock({ vmid: 100 });
    await sleep(SETTLE_MS);
    const idle = residentBytes(agent.process.pid!).rss;
    const start = process.hrtime.bigint();
    const cpuBefore = cpuMs(agent.process.pid!);
    const requests = await fillDedupRecords(agent.client, RECORDS, CONCURRENCY, prefix);
    const fillMs = msSince(start);
    const fillCpuMs = cpuMs(agent.process.pid!) - cpuBefore;
    await sleep(SETTLE_MS);
    const filled = residentBytes(agent.process.pid!);
    await agent.stop();
    agent = await agent.restart();
    const loaded = Number(logEntry(agent.logs(), "request store opened")?.records);
    await sleep(SETTLE_MS);
    const reloaded = residentBytes(agent.process.pid!);
    // The records are really held: the last ID is answered from its record.
    const again = await agent.client.destroyContainer({ ...requests.at(-1)!, force: false, purge: false });
    if (!again.replayed || loaded !== RECORDS)
      throw new Error(`after the restart: ${loaded} records loaded, replayed ${again.replayed}`);
    return { idle, filled, reloaded, fillMs, fillCpuMs, logBytes: statSync(requestLogPath(root)).size };
  } finally {
    await agent.stop();
  }
}

function report(title: string, f: Figures, bare: number): void {
  const line = (label: string, value: string): void => console.log(`  ${label.padEnd(46)} ${value}`);
  const perRecord = (bytes: number): string => `${((bytes - f.idle) / RECORDS).toFixed(0)} bytes per record above idle`;
  console.log(`\n${title}:`);
  line("idle (started, one mTLS client):", `${mib(f.idle)}   ratio to bare Node ${ratio(f.idle, bare)}`);
  line(
    `while ${count(RECORDS)} new requests arrive:`,
    `peak ${mib(f.filled.peak)}; after them ${mib(f.filled.rss)} (${perRecord(f.filled.rss)}; ${((RECORDS / f.fillMs) * 1000).toFixed(0)} records/s)`,
  );
  line("agent CPU while filling:", `${((f.fillCpuMs / RECORDS) * 1000).toFixed(0)} ms per 1,000 records`);
  line(`restarted, ${count(RECORDS)} records loaded:`, `${mib(f.reloaded.rss)}   (${perRecord(f.reloaded.rss)})`);
  line("request log on disk:", mib(f.logBytes));
}

async function main(): Promise<void> {
  // The two agents differ only in what they are given here.
  for (const key of MEMORY_SETTINGS) delete process.env[key];
  const unitEnv = unitMemoryEnvironment();
  try {
    const bare = await bareNodeRss();
    console.log(
      `filling ${count(RECORDS)} dedup records through DestroyContainer RPCs, ${CONCURRENCY} at a time, twice`,
    );
    const asUnit = await measure(unitEnv, "unit");
    const defaults = await measure({ LOCKSTEP_AGENT_HEAP_GROWTH_PERCENT: "0" }, "defaults");
    console.log(`\nbaseline, bare Node ${process.version} idle: ${mib(bare)}`);
    report(
      `agent as its unit runs it (${Object.entries(unitEnv)
        .map(([k, v]) => `${k}=${v}`)
        .join(" ")}, the default heapGrowthPercent)`,
      asUnit,
      bare,
    );
    report("agent with Node's and V8's defaults (heapGrowthPercent 0; same run)", defaults, bare);
    console.log(
      `\nratio unit / defaults: idle ${ratio(asUnit.idle, defaults.idle)}, peak while filling ${ratio(asUnit.filled.peak, defaults.filled.peak)}, holding after the restart ${ratio(asUnit.reloaded.rss, defaults.reloaded.rss)}, CPU while filling ${ratio(asUnit.fillCpuMs, defaults.fillCpuMs)}`,
    );
    const verdict = (ok: boolean): string => (ok ? "met" : "NOT met");
    console.log(
      `goal (as the unit runs it): peak under 150 MiB while filling ${verdict(asUnit.filled.peak < 150 * 2 ** 20)} (${mib(asUnit.filled.peak)}), idle under 80 MiB ${verdict(asUnit.idle < 80 * 2 ** 20)} (${mib(asUnit.idle)})`,
    );
  } finally {
    await bench.close();
  }
}

await main();
