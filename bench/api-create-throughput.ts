// Benchmark: API create throughput (POST /v1/containers with Idempotency-Key: key, record,
// VMID, job and stored response) against the raw rate of single-row insert transactions on the
// same database through mysql2, at the same concurrency; both also one at a time. On one
// MariaDB server, then on a 3-node Galera cluster through its proxy (scripts/galera.sh),
// printed side by side. Each side's CPU per request (API, database, benchmark client) and the
// database's lock waits show where the time goes.
// Run: pnpm exec tsx bench/api-create-throughput.ts
//   (BENCH_CREATES, BENCH_CONCURRENCY, BENCH_ROUNDS; BENCH_GALERA=0 for one server only)
import { randomUUID } from "node:crypto";
import mysql from "mysql2/promise";
import { sizeFromEnv } from "./support/bench-env.js";
import { cpuMs, lockCounters } from "./support/cpu-time.js";
import { startIdleDispatchApi } from "./support/idle-dispatch-api.js";
import { LeanClient } from "./support/lean-client.js";
import { inParallel } from "./support/parallel.js";
import { count, describe, ratio, summarize } from "./support/stats.js";
import { msSince } from "./support/timing.js";
import { forEachTopology, type Topology as Database } from "./support/topologies.js";

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
  /** CPU ms per request of the API process, the database's processes and this process. */
  readonly cpu: { api: number; db: number; client: number };
  /** Row lock waits and deadlocks per 1,000 requests. */
  readonly locks: { waits: number; deadlocks: number };
}

interface Figures {
  readonly name: string;
  readonly lockstep: Run;
  readonly baseline: Run;
  readonly serialLockstep: Run;
  readonly serialBaseline: Run;
}

/** What one run measures besides time: the processes whose CPU counts, and the server's lock counters. */
interface Meters {
  readonly apiPid: number;
  readonly dbPids: readonly number[];
  readonly pool: mysql.Pool;
}

async function measure(n: number, op: () => Promise<void>, meters: Meters, concurrency = CONCURRENCY): Promise<Run> {
  const latencies: number[] = [];
  const cpu = () => ({
    api: cpuMs(meters.apiPid),
    db: meters.dbPids.reduce((s, pid) => s + cpuMs(pid), 0),
    client: cpuMs(process.pid),
  });
  const [cpu0, locks0] = [cpu(), await lockCounters(meters.pool)];
  const start = process.hrtime.bigint();
  await inParallel(
    Array.from({ length: n }, (_, i) => i),
    concurrency,
    async () => {
      const t = process.hrtime.bigint();
      await op();
      latencies.push(msSince(t));
    },
  );
  const perSecond = (n / msSince(start)) * 1000;
  const [cpu1, locks1] = [cpu(), await lockCounters(meters.pool)];
  return {
    perSecond,
    latencies,
    cpu: { api: (cpu1.api - cpu0.api) / n, db: (cpu1.db - cpu0.db) / n, client: (cpu1.client - cpu0.client) / n },
    locks: {
      waits: ((locks1.waits - locks0.waits) * 1000) / n,
      deadlocks: ((locks1.deadlocks - locks0.deadlocks) * 1000) / n,
    },
  };
}

async function benchmark({ name, server, dbPids }: Database): Promise<Figures> {
  const { db, api, stop } = await startIdleDispatchApi(NODES, server);
  // The baseline's own pool, sized like the load: one connection per concurrent transaction.
  const raw = mysql.createPool({ uri: db.url, connectionLimit: CONCURRENCY });
  const client = new LeanClient(api.url, api.token, CONCURRENCY);
  try {
    const meters: Meters = { apiPid: api.process.pid!, dbPids, pool: raw };
    await raw.query(
      `CREATE TABLE bench_rows (id CHAR(36) NOT NULL PRIMARY KEY, body JSON NOT NULL, created_at DATETIME(3) NOT NULL) ENGINE=InnoDB`,
    );
    let created = 0;
    const create = async (): Promise<void> => {
      const i = created++;
      const res = await client.post(
        "/v1/containers",
        { node: NODES[i % NODES.length], spec: { hostname: `bench-${i}`, source: { template: TEMPLATE } } },
        `bench-create-${i}`,
      );
      if (res.status !== 202) throw new Error(`create ${i}: ${res.status} ${res.text}`);
    };
    const insert = async (): Promise<void> => {
      const conn = await raw.getConnection();
      try {
        await conn.beginTransaction();
        await conn.query("INSERT INTO bench_rows (id, body, created_at) VALUES (?, ?, ?)", [
          randomUUID(),
          JSON.stringify({ hostname: "bench", source: { template: TEMPLATE } }),
          new Date(),
        ]);
        await conn.commit();
      } finally {
        conn.release();
      }
    };

    console.log(`${name}: warm-up, ${WARMUP} creates and ${WARMUP} insert transactions (not counted)`);
    await measure(WARMUP, create, meters);
    await measure(WARMUP, insert, meters);
    const lockstep: Run[] = [];
    const baseline: Run[] = [];
    // Alternated, so that load from elsewhere on the machine falls on both sides alike.
    for (let round = 1; round <= ROUNDS; round++) {
      baseline.push(await measure(CREATES, insert, meters));
      lockstep.push(await measure(CREATES, create, meters));
      console.log(
        `${name}: round ${round}: baseline ${baseline.at(-1)!.perSecond.toFixed(0)} tx/s, Lockstep ${lockstep.at(-1)!.perSecond.toFixed(0)} creates/s`,
      );
    }
    const serialBaseline = await measure(SERIAL, insert, meters, 1);
    const serialLockstep = await measure(SERIAL, create, meters, 1);
    await checkWritten(raw, WARMUP + ROUNDS * CREATES + SERIAL);
    const best = (runs: Run[]): Run => runs.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
    return { name, lockstep: best(lockstep), baseline: best(baseline), serialLockstep, serialBaseline };
  } finally {
    client.close();
    await raw.end();
    await stop();
  }
}

/** Every accepted create left one record, one job, one finished key and its own VMID. */
async function checkWritten(pool: mysql.Pool, expected: number): Promise<void> {
  const [rows] = await pool.query(
    `SELECT (SELECT COUNT(*) FROM containers) AS containers, (SELECT COUNT(*) FROM operations WHERE kind = 'create') AS jobs,
            (SELECT COUNT(*) FROM idempotency_keys WHERE idem_key LIKE 'bench-create-%' AND state = 'done') AS \`keys\`,
            (SELECT COUNT(DISTINCT vmid) FROM vmid_allocations) AS vmids`,
  );
  const written = (rows as Record<string, number>[])[0]!;
  console.log(
    `  written: ${written.containers} records, ${written.jobs} jobs, ${written.keys} idempotency keys, ${written.vmids} distinct VMIDs (expected ${expected} each)`,
  );
  if (Object.values(written).some((n) => Number(n) !== expected)) process.exitCode = 1;
}

function report(t: Figures): void {
  const cpu = (r: Run) =>
    `CPU per request: API ${r.cpu.api.toFixed(2)} ms, database ${r.cpu.db.toFixed(2)} ms, client ${r.cpu.client.toFixed(2)} ms`;
  const locks = (r: Run) =>
    `lock waits ${r.locks.waits.toFixed(1)}, deadlocks ${r.locks.deadlocks.toFixed(1)} per 1,000`;
  console.log(
    `\n${t.name}: ${count(CREATES)} requests per round, ${CONCURRENCY} at a time, ${ROUNDS} rounds (best round shown)`,
  );
  console.log(
    `  Lockstep creates/s:              ${t.lockstep.perSecond.toFixed(0)}   latency ${describe(summarize(t.lockstep.latencies))}`,
  );
  console.log(`    ${cpu(t.lockstep)}; ${locks(t.lockstep)}`);
  console.log(
    `  baseline insert transactions/s:  ${t.baseline.perSecond.toFixed(0)}   latency ${describe(summarize(t.baseline.latencies))}`,
  );
  console.log(`    ${cpu(t.baseline)}; ${locks(t.baseline)}`);
  console.log(`  ratio Lockstep / baseline:       ${ratio(t.lockstep.perSecond, t.baseline.perSecond)}`);
  console.log(
    `  one at a time, ${SERIAL} each: Lockstep ${t.serialLockstep.perSecond.toFixed(0)}/s (${describe(summarize(t.serialLockstep.latencies))}), baseline ${t.serialBaseline.perSecond.toFixed(0)}/s (${describe(summarize(t.serialBaseline.latencies))}), ratio ${ratio(t.serialLockstep.perSecond, t.serialBaseline.perSecond)}`,
  );
}

async function main(): Promise<void> {
  const results = await forEachTopology(async (database) => {
    const figures = await benchmark(database);
    report(figures);
    return figures;
  });
  console.log(`\nside by side (creates/s, p99; baseline tx/s; ratio):`);
  for (const t of results) {
    console.log(
      `  ${t.name.padEnd(36)} ${t.lockstep.perSecond.toFixed(0).padStart(5)}/s  p99 ${summarize(t.lockstep.latencies).p99.toFixed(1).padStart(6)} ms   baseline ${t.baseline.perSecond.toFixed(0).padStart(5)}/s   ratio ${ratio(t.lockstep.perSecond, t.baseline.perSecond)}`,
    );
  }
}

await main();
