// Benchmark: API create throughput (POST /v1/containers with Idempotency-Key: key, record,
// VMID, job and stored response in one transaction) against the raw rate of single-row insert
// transactions on the same MariaDB through mysql2, at the same concurrency; both also one at a
// time, since a create's transaction holds the VMID allocator's row lock until it commits.
// Run: pnpm exec tsx bench/api-create-throughput.ts   (BENCH_CREATES, BENCH_CONCURRENCY, BENCH_ROUNDS)
import { randomUUID } from "node:crypto";
import mysql from "mysql2/promise";
import { post } from "../test/support/cluster.js";
import { sizeFromEnv } from "./support/bench-env.js";
import { startIdleDispatchApi } from "./support/idle-dispatch-api.js";
import { inParallel } from "./support/parallel.js";
import { count, describe, ratio, summarize } from "./support/stats.js";
import { msSince } from "./support/timing.js";

const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";
const NODES = ["pve1", "pve2", "pve3", "pve4", "pve5"];
const CREATES = sizeFromEnv("BENCH_CREATES", 1000);
const CONCURRENCY = sizeFromEnv("BENCH_CONCURRENCY", 16);
const ROUNDS = sizeFromEnv("BENCH_ROUNDS", 2);
const WARMUP = Math.min(100, Math.max(20, Math.floor(CREATES / 10)));
const SERIAL = Math.min(CREATES, 300);

interface Run {
  readonly perSecond: number;
  readonly latencies: number[];
}

/** `n` operations, `concurrency` at a time; the rate over the whole run and each one's latency. */
async function measure(n: number, op: () => Promise<void>, concurrency = CONCURRENCY): Promise<Run> {
  const latencies: number[] = [];
  const start = process.hrtime.bigint();
  await inParallel(Array.from({ length: n }, (_, i) => i), concurrency, async () => {
    const t = process.hrtime.bigint();
    await op();
    latencies.push(msSince(t));
  });
  return { perSecond: (n / msSince(start)) * 1000, latencies };
}

async function main(): Promise<void> {
  const { db, api, stop } = await startIdleDispatchApi(NODES);
  // The baseline's own pool, sized like the load: one connection per concurrent transaction.
  const raw = mysql.createPool({ uri: db.url, connectionLimit: CONCURRENCY });
  try {
    await db.pool.query(`CREATE TABLE bench_rows (id CHAR(36) NOT NULL PRIMARY KEY, body JSON NOT NULL, created_at DATETIME(3) NOT NULL) ENGINE=InnoDB`);
    let created = 0;
    const create = async (): Promise<void> => {
      const i = created++;
      const res = await post(api, "/v1/containers", { node: NODES[i % NODES.length], spec: { hostname: `bench-${i}`, source: { template: TEMPLATE } } }, `bench-create-${i}`);
      if (res.status !== 202) throw new Error(`create ${i}: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    };
    const insert = async (): Promise<void> => {
      const conn = await raw.getConnection();
      try {
        await conn.beginTransaction();
        await conn.query("INSERT INTO bench_rows (id, body, created_at) VALUES (?, ?, ?)", [randomUUID(), JSON.stringify({ hostname: "bench", source: { template: TEMPLATE } }), new Date()]);
        await conn.commit();
      } finally {
        conn.release();
      }
    };

    console.log(`warm-up: ${WARMUP} creates and ${WARMUP} insert transactions (not counted)`);
    await measure(WARMUP, create);
    await measure(WARMUP, insert);
    const lockstep: Run[] = [];
    const baseline: Run[] = [];
    // Alternated, so that load from elsewhere on the machine falls on both sides alike.
    for (let round = 1; round <= ROUNDS; round++) {
      baseline.push(await measure(CREATES, insert));
      lockstep.push(await measure(CREATES, create));
      console.log(`round ${round}: baseline ${baseline.at(-1)!.perSecond.toFixed(0)} tx/s, Lockstep ${lockstep.at(-1)!.perSecond.toFixed(0)} creates/s`);
    }
    const serialBaseline = await measure(SERIAL, insert, 1);
    const serialLockstep = await measure(SERIAL, create, 1);

    const [rows] = await db.pool.query(
      `SELECT (SELECT COUNT(*) FROM containers) AS containers, (SELECT COUNT(*) FROM operations WHERE kind = 'create') AS jobs,
              (SELECT COUNT(*) FROM idempotency_keys WHERE idem_key LIKE 'bench-create-%' AND state = 'done') AS \`keys\`,
              (SELECT COUNT(DISTINCT vmid) FROM vmid_allocations) AS vmids, (SELECT COUNT(*) FROM bench_rows) AS \`rows\``,
    );
    const written = (rows as { containers: number; jobs: number; keys: number; vmids: number; rows: number }[])[0]!;
    const expected = WARMUP + ROUNDS * CREATES + SERIAL;
    const best = (runs: Run[]): Run => runs.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
    const [l, b] = [best(lockstep), best(baseline)];

    console.log(`\nAPI create throughput, ${count(CREATES)} requests per round, ${CONCURRENCY} at a time, ${ROUNDS} rounds (best round shown):`);
    console.log(`  Lockstep creates/s:              ${l.perSecond.toFixed(0)}   (rounds: ${lockstep.map((r) => r.perSecond.toFixed(0)).join(", ")})`);
    console.log(`    latency:                       ${describe(summarize(l.latencies))}`);
    console.log(`  baseline insert transactions/s:  ${b.perSecond.toFixed(0)}   (rounds: ${baseline.map((r) => r.perSecond.toFixed(0)).join(", ")})`);
    console.log(`    latency:                       ${describe(summarize(b.latencies))}`);
    console.log(`  ratio Lockstep / baseline:       ${ratio(l.perSecond, b.perSecond)}`);
    console.log(`one at a time, ${SERIAL} requests each:`);
    console.log(`  Lockstep creates/s:              ${serialLockstep.perSecond.toFixed(0)}   latency ${describe(summarize(serialLockstep.latencies))}`);
    console.log(`  baseline insert transactions/s:  ${serialBaseline.perSecond.toFixed(0)}   latency ${describe(summarize(serialBaseline.latencies))}`);
    console.log(`  ratio Lockstep / baseline:       ${ratio(serialLockstep.perSecond, serialBaseline.perSecond)}`);
    console.log(`  written: ${written.containers} records, ${written.jobs} jobs, ${written.keys} idempotency keys, ${written.vmids} distinct VMIDs (expected ${expected} each); ${written.rows} baseline rows`);
    if ([written.containers, written.jobs, written.keys, written.vmids].some((n) => Number(n) !== expected)) process.exitCode = 1;
  } finally {
    await raw.end();
    await stop();
  }
}

await main();
