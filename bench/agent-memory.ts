// Benchmark: the agent's resident memory (VmRSS from /proc/<pid>/status) idle, and holding
// 100,000 dedup records, filled through real DestroyContainer RPCs (new request IDs, each
// recorded durably, no `pct` run) and measured again after a restart that loads them back from
// the log. Baseline: a bare Node process of the same binary, idle.
// Run: pnpm exec tsx bench/agent-memory.ts   (BENCH_MEMORY_RECORDS, BENCH_CONCURRENCY)
import { spawn } from "node:child_process";
import { statSync } from "node:fs";
import { logEntry, SuiteScope } from "@lockstep/shared";
import { agentOnSim } from "../packages/agent/test/integration/agent-harness.js";
import { sizeFromEnv } from "./support/bench-env.js";
import { fillDedupRecords, requestLogPath } from "./support/dedup-records.js";
import { mib, residentBytes } from "./support/proc-memory.js";
import { count, ratio } from "./support/stats.js";
import { msSince, sleep } from "./support/timing.js";

/** What the run starts: its nodes are removed when it ends. */
const bench = new SuiteScope();

const RECORDS = sizeFromEnv("BENCH_MEMORY_RECORDS", 100_000);
const CONCURRENCY = sizeFromEnv("BENCH_CONCURRENCY", 32);
// Time for start-up work and the first garbage collections to settle before a reading.
const SETTLE_MS = 5000;

async function bareNodeRss(): Promise<number> {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  try {
    await sleep(SETTLE_MS);
    return residentBytes(child.pid!).rss;
  } finally {
    child.kill("SIGKILL");
  }
}

async function main(): Promise<void> {
  const bare = await bareNodeRss();
  let agent = await agentOnSim(bench);
  const root = agent.root;
  try {
    // One read-only RPC, so that the mTLS connection exists as it does on an idle node.
    await agent.client.inspectLock({ vmid: 100 });
    await sleep(SETTLE_MS);
    const idle = residentBytes(agent.process.pid!);

    console.log(`filling ${count(RECORDS)} dedup records through DestroyContainer RPCs, ${CONCURRENCY} at a time...`);
    const start = process.hrtime.bigint();
    const requests = await fillDedupRecords(agent.client, RECORDS, CONCURRENCY, "mem");
    const fillMs = msSince(start);
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

    const perRecord = (bytes: number): string =>
      `${((bytes - idle.rss) / RECORDS).toFixed(0)} bytes per record above idle`;
    const line = (label: string, value: string): void => console.log(`  ${label.padEnd(46)} ${value}`);
    console.log(`\nagent resident memory (VmRSS):`);
    line(`baseline, bare Node ${process.version} idle:`, mib(bare));
    line("agent idle (started, one mTLS client):", `${mib(idle.rss)}   ratio to bare Node ${ratio(idle.rss, bare)}`);
    line(
      `agent after ${count(RECORDS)} new requests:`,
      `${mib(filled.rss)}   (peak ${mib(filled.peak)}; ${perRecord(filled.rss)}; filled in ${(fillMs / 1000).toFixed(1)} s, ${((RECORDS / fillMs) * 1000).toFixed(0)} records/s)`,
    );
    line(
      `agent restarted, ${count(loaded)} records loaded:`,
      `${mib(reloaded.rss)}   (peak ${mib(reloaded.peak)}; ${perRecord(reloaded.rss)})`,
    );
    line(
      `ratio holding ${count(RECORDS)} records / idle:`,
      `${ratio(filled.rss, idle.rss)} after filling, ${ratio(reloaded.rss, idle.rss)} after the restart`,
    );
    line("request log on disk:", mib(statSync(requestLogPath(root)).size));
  } finally {
    await agent.stop();
    await bench.close();
  }
}

await main();
