// Benchmark: one reconcile pass over 1,000 records on 5 simulated nodes, against the baseline
// of the same five node listings made directly through the agents. Run: pnpm exec tsx bench/reconcile-pass.ts
import { randomUUID } from "node:crypto";
import { checkSpec, SuiteScope } from "@lockstep/shared";
import { post, startCluster } from "../test/support/cluster.js";
import { sizeFromEnv } from "./support/bench-env.js";
import { inParallel } from "./support/parallel.js";
import { msSince as ms } from "./support/timing.js";

/** What the run starts: its nodes are removed when it ends. */
const bench = new SuiteScope();

const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";
const NODES = ["pve1", "pve2", "pve3", "pve4", "pve5"];
const PER_NODE = sizeFromEnv("BENCH_PER_NODE", 200);
const PARALLEL = 8;

async function main(): Promise<void> {
  const cluster = await startCluster(bench, NODES);
  try {
    const spec = checkSpec({ hostname: "bench", source: { template: TEMPLATE } });
    if (!spec.ok) throw new Error("spec");
    const work = NODES.flatMap((node, n) =>
      Array.from({ length: PER_NODE }, (_, i) => ({ node, vmid: 20_000 + n * 1000 + i, id: randomUUID() })),
    );
    console.log(
      `setting up ${work.length} containers on ${NODES.length} simulated nodes (pct create, ${PARALLEL} at a time)...`,
    );
    await inParallel(work, PARALLEL, async ({ node, vmid, id }) => {
      const r = await cluster.agents
        .get(node)!
        .pct([
          "create",
          String(vmid),
          TEMPLATE,
          "--hostname",
          "bench",
          "--tags",
          `lockstep;lockstep-${id}`,
          "--start",
          "1",
        ]);
      if (r.code !== 0) throw new Error(r.stderr);
    });
    const now = new Date();
    for (const { node, vmid, id } of work) {
      await cluster.db.pool.query(
        "INSERT INTO containers (id, node, vmid, hostname, spec, desired_state, status, created_at, updated_at) VALUES (?, ?, ?, 'bench', ?, 'running', 'running', ?, ?)",
        [id, node, vmid, JSON.stringify(spec.spec), now, now],
      );
      await cluster.db.pool.query(
        "INSERT INTO vmid_allocations (vmid, node, container_id, owner, allocated_at) VALUES (?, ?, ?, 'lockstep', ?)",
        [vmid, node, id, now],
      );
    }

    const listings = async (): Promise<number> => {
      const start = process.hrtime.bigint();
      await Promise.all(NODES.map((node) => cluster.agents.get(node)!.client.listContainers({})));
      return ms(start);
    };
    const pass = async (key: string): Promise<{ ms: number; findings: number }> => {
      const start = process.hrtime.bigint();
      const res = await post(cluster.api, "/v1/reconcile", {}, key);
      const took = ms(start);
      const body = (await res.json()) as { nodes: { findings: number }[] };
      return { ms: took, findings: body.nodes.reduce((sum, n) => sum + n.findings, 0) };
    };
    // Warm-up: the first call of each kind opens the gRPC connections.
    await listings();
    await pass("bench-pass-warm");
    const baselines: number[] = [];
    const passes: number[] = [];
    let findings = 0;
    // Alternated, so that load from elsewhere on the machine falls on both sides alike.
    for (let i = 0; i < 3; i++) {
      baselines.push(await listings());
      const p = await pass(`bench-pass-${i}`);
      passes.push(p.ms);
      findings += p.findings;
    }
    const drifted = work.filter((_, i) => i % 100 === 0);
    await inParallel(
      drifted,
      PARALLEL,
      async ({ node, vmid }) => void (await cluster.agents.get(node)!.pct(["stop", String(vmid)])),
    );
    const driftStart = process.hrtime.bigint();
    const res = await post(cluster.api, "/v1/reconcile", {}, "bench-pass-drift");
    const driftPass = ms(driftStart);
    const found = ((await res.json()) as { nodes: { findings: number }[] }).nodes.reduce(
      (sum, n) => sum + n.findings,
      0,
    );

    const best = Math.min(...passes);
    const baseline = Math.min(...baselines);
    console.log(
      `\nreconcile pass, ${work.length} records on ${NODES.length} nodes (all in sync, best of 3 after a warm-up):`,
    );
    console.log(
      `  passes (ms):                 ${passes.map((p) => p.toFixed(0)).join(", ")}; findings ${findings} (expected 0)`,
    );
    console.log(`  baseline, the 5 listings alone (ms): ${baselines.map((b) => b.toFixed(0)).join(", ")}`);
    console.log(`  ratio pass / baseline:       ${(best / baseline).toFixed(2)}`);
    console.log(`  records judged per second:   ${((work.length / best) * 1000).toFixed(0)}`);
    console.log(
      `with ${drifted.length} containers stopped by hand: pass ${driftPass.toFixed(0)} ms, findings ${found} (expected ${drifted.length})`,
    );
    if (findings !== 0 || found !== drifted.length) process.exitCode = 1;
  } finally {
    await cluster.stop();
    await bench.close();
  }
}

await main();
