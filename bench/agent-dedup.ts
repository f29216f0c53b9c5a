import { SuiteScope } from "@lockstep/shared";
// Benchmark: the agent's request-ID dedup. Records written durably per second (new request IDs:
// a `running` line and an outcome line, each fdatasync'd before the call goes on) against raw
// fdatasync'd appends on the same file system; duplicate RPCs per second (the same IDs again,
// answered from the record) against a read-only RPC (GetOperation) of the same records.
// The RPC is DestroyContainer of a VMID that does not exist: it reads one missing config file
// and runs no `pct`, so the figures are the dedup path and the RPC, not the node.
// Run: pnpm exec tsx bench/agent-dedup.ts   (BENCH_RECORDS, BENCH_CONCURRENCY, BENCH_SYNCS, BENCH_ROUNDS)
import { closeSync, fdatasyncSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import path from "node:path";
import { agentOnSim } from "../packages/agent/test/integration/agent-harness.js";
import { sizeFromEnv } from "./support/bench-env.js";
import { fillDedupRecords, requestLogPath } from "./support/dedup-records.js";
import { inParallel } from "./support/parallel.js";
import { count, ratio } from "./support/stats.js";
import { msSince } from "./support/timing.js";

/** What the run starts: its nodes are removed when it ends. */
const bench = new SuiteScope();

const RECORDS = sizeFromEnv("BENCH_RECORDS", 10_000);
// The agent's default maxConcurrentOperations is 32: more new requests at once are refused.
const CONCURRENCY = sizeFromEnv("BENCH_CONCURRENCY", 32);
const SYNCS = sizeFromEnv("BENCH_SYNCS", 2000);
const ROUNDS = sizeFromEnv("BENCH_ROUNDS", 3);
const WARMUP = Math.min(1000, Math.max(50, Math.floor(RECORDS / 20)));

/** Appends of `line`, each followed by fdatasync, one at a time: the raw durable-write rate. */
function rawDurableAppends(file: string, line: string, n: number): number {
  const fd = openSync(file, "a");
  try {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      writeSync(fd, line);
      fdatasyncSync(fd);
    }
    return (n / msSince(start)) * 1000;
  } finally {
    closeSync(fd);
    unlinkSync(file);
  }
}

interface Round {
  readonly records: number;
  readonly duplicates: number;
  readonly reads: number;
  readonly syncs: number;
}

/** Items per second of `work`, which handles `n` items. */
async function rate(n: number, work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return (n / msSince(start)) * 1000;
}

async function main(): Promise<void> {
  const agent = await agentOnSim(bench);
  try {
    const log = requestLogPath(agent.root);
    const lineCount = (): number => readFileSync(log, "utf8").split("\n").length - 1;
    console.log(`warm-up: ${WARMUP} new requests, their duplicates and GetOperations (not counted)`);
    const warm = await fillDedupRecords(agent.client, WARMUP, CONCURRENCY, "warm");
    await fillDedupRecords(agent.client, WARMUP, CONCURRENCY, "warm", true);
    await inParallel(warm, CONCURRENCY, async ({ requestId }) => void (await agent.client.getOperation({ requestId })));
    // A line of the same length as the agent's, in the directory the agent's log is in.
    const sample = readFileSync(log, "utf8").split("\n").at(-2)! + "\n";

    const rounds: Round[] = [];
    const before = { bytes: statSync(log).size, lines: lineCount() };
    // Rounds alternate the figures and their baselines, so that load from elsewhere falls on both alike.
    for (let r = 1; r <= ROUNDS; r++) {
      const prefix = `bench${r}`;
      let requests: { requestId: string }[] = [];
      const records = await rate(
        RECORDS,
        async () => (requests = await fillDedupRecords(agent.client, RECORDS, CONCURRENCY, prefix)),
      );
      const duplicates = await rate(RECORDS, () => fillDedupRecords(agent.client, RECORDS, CONCURRENCY, prefix, true));
      const reads = await rate(RECORDS, () =>
        inParallel(requests, CONCURRENCY, async ({ requestId }) => {
          const op = await agent.client.getOperation({ requestId });
          if (op.requestId !== requestId) throw new Error(`GetOperation ${requestId}: ${JSON.stringify(op)}`);
        }),
      );
      const syncs = rawDurableAppends(path.join(path.dirname(log), "bench-raw.log"), sample, SYNCS);
      rounds.push({ records, duplicates, reads, syncs });
      console.log(
        `round ${r}: ${records.toFixed(0)} records/s (raw appends ${syncs.toFixed(0)}/s), ${duplicates.toFixed(0)} duplicates/s (GetOperation ${reads.toFixed(0)}/s)`,
      );
    }
    const lines = lineCount() - before.lines;
    const bytesPerLine = (statSync(log).size - before.bytes) / lines;

    const best = (key: keyof Round): number => Math.max(...rounds.map((r) => r[key]));
    const all = (key: keyof Round): string => rounds.map((r) => r[key].toFixed(0)).join(", ");
    const line = (label: string, value: number, key: keyof Round, note = ""): void =>
      console.log(`  ${label.padEnd(38)} ${value.toFixed(0).padStart(6)}   (rounds: ${all(key)})${note}`);
    console.log(
      `\nagent request-ID dedup, ${count(RECORDS)} request IDs per round, ${CONCURRENCY} RPCs at a time, best of ${ROUNDS} rounds (gRPC over mTLS, DestroyContainer of an absent VMID):`,
    );
    line(
      "records written durably/s:",
      best("records"),
      "records",
      `; ${(lines / (RECORDS * ROUNDS)).toFixed(1)} log lines per record, ${bytesPerLine.toFixed(0)} bytes per line`,
    );
    line(
      "baseline, raw fdatasync'd appends/s:",
      best("syncs"),
      "syncs",
      `; ${SYNCS} appends of one such line, one at a time, same file system`,
    );
    console.log(
      `  ${"ratio records / raw appends:".padEnd(38)} ${ratio(best("records"), best("syncs")).padStart(6)}   (each record is two fdatasync'd lines; above 0.5 only through group commit)`,
    );
    line("duplicate RPCs/s (replayed):", best("duplicates"), "duplicates");
    line("baseline, GetOperation RPCs/s:", best("reads"), "reads", "; read-only RPC of the same records");
    console.log(
      `  ${"ratio duplicates / GetOperation:".padEnd(38)} ${ratio(best("duplicates"), best("reads")).padStart(6)}`,
    );
  } finally {
    await agent.stop();
    await bench.close();
  }
}

await main();
