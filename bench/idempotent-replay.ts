// Benchmark: latency of replaying a known Idempotency-Key (the same POST /v1/containers again,
// answered from the stored response) against a plain GET of one record, one request at a time,
// the two interleaved; on one MariaDB server, then on a 3-node Galera cluster through its proxy.
// Run: pnpm exec tsx bench/idempotent-replay.ts   (BENCH_SAMPLES, BENCH_KEYS; BENCH_GALERA=0 for one server only)
import { post } from "../test/support/cluster.js";
import { sizeFromEnv } from "./support/bench-env.js";
import { startIdleDispatchApi } from "./support/idle-dispatch-api.js";
import { describe, ratio, summarize, type Summary } from "./support/stats.js";
import { msSince } from "./support/timing.js";
import { forEachTopology, type Topology } from "./support/topologies.js";

const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";
const NODES = ["pve1", "pve2", "pve3", "pve4", "pve5"];
const SAMPLES = sizeFromEnv("BENCH_SAMPLES", 5000);
const KEYS = sizeFromEnv("BENCH_KEYS", 100);
const WARMUP = Math.min(500, Math.max(50, Math.floor(SAMPLES / 10)));

interface Figures {
  readonly name: string;
  readonly replay: Summary;
  readonly read: Summary;
}

async function benchmark({ name, server }: Topology): Promise<Figures> {
  const { api, stop } = await startIdleDispatchApi(NODES, server);
  try {
    const bodies = Array.from({ length: KEYS }, (_, i) => ({
      node: NODES[i % NODES.length],
      spec: { hostname: `replay-${i}`, source: { template: TEMPLATE } },
    }));
    const created: { id: string; key: string; body: unknown; bytes: number }[] = [];
    for (const [i, body] of bodies.entries()) {
      const res = await post(api, "/v1/containers", body, `replay-${i}`);
      const text = await res.text();
      if (res.status !== 202) throw new Error(`create ${i}: ${res.status} ${text}`);
      created.push({
        id: (JSON.parse(text) as { id: string }).id,
        key: `replay-${i}`,
        body,
        bytes: Buffer.byteLength(text),
      });
    }

    const replay = async (i: number): Promise<number> => {
      const { key, body, bytes } = created[i % created.length]!;
      const start = process.hrtime.bigint();
      const res = await post(api, "/v1/containers", body, key);
      const text = await res.text();
      const took = msSince(start);
      if (res.status !== 202 || res.headers.get("idempotent-replayed") !== "true" || Buffer.byteLength(text) !== bytes)
        throw new Error(`replay ${key}: ${res.status} ${res.headers.get("idempotent-replayed")}`);
      return took;
    };
    const read = async (i: number): Promise<number> => {
      const { id } = created[i % created.length]!;
      const start = process.hrtime.bigint();
      const res = await api.fetch(`/v1/containers/${id}`);
      await res.text();
      const took = msSince(start);
      if (res.status !== 200) throw new Error(`GET ${id}: ${res.status}`);
      return took;
    };

    console.log(
      `${name}: ${KEYS} containers created; warm-up ${WARMUP} of each (not counted), then ${SAMPLES} of each, interleaved`,
    );
    for (let i = 0; i < WARMUP; i++) {
      await replay(i);
      await read(i);
    }
    const replays: number[] = [];
    const reads: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      // Alternating which goes first keeps any order effect off one side.
      if (i % 2 === 0) {
        replays.push(await replay(i));
        reads.push(await read(i));
      } else {
        reads.push(await read(i));
        replays.push(await replay(i));
      }
    }
    return { name, replay: summarize(replays), read: summarize(reads) };
  } finally {
    await stop();
  }
}

async function main(): Promise<void> {
  const results = await forEachTopology(benchmark);
  for (const { name, replay: r, read: g } of results) {
    console.log(`\n${name}: replay of a known Idempotency-Key (POST /v1/containers, stored response), one at a time:`);
    console.log(`  replay:                    ${describe(r)}`);
    console.log(`  baseline, GET one record:  ${describe(g)}`);
    console.log(`  ratio replay / GET:        p50 ${ratio(r.p50, g.p50)}, p99 ${ratio(r.p99, g.p99)}`);
  }
}

await main();
