import { SuiteScope } from "@lockstep/shared";
// Benchmark: end to end, N containers on 5 simulated nodes through the API (creates with
// Idempotency-Keys, every operation waited for). Lockstep's own overhead per container is its
// busy time minus the simulator's own recorded time for the same `pct` calls; a second baseline
// runs the very same `pct` calls directly (no Lockstep) to tell pct's process start-up apart.
// Run: pnpm exec tsx bench/end-to-end.ts   (BENCH_CONTAINERS, BENCH_DISPATCH_CONCURRENCY)
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { readCalls, simPctBin, type CallRecord } from "@lockstep/sim";
import { post, startCluster } from "../test/support/cluster.js";
import { sizeFromEnv } from "./support/bench-env.js";
import { inParallel } from "./support/parallel.js";
import { count, ratio, summarize, type Summary } from "./support/stats.js";
import { msSince, sleep } from "./support/timing.js";

/** What the run starts: its nodes are removed when it ends. */
const bench = new SuiteScope();

const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";
const NODES = ["pve1", "pve2", "pve3", "pve4", "pve5"];
const CONTAINERS = sizeFromEnv("BENCH_CONTAINERS", 500);
// The API's default dispatch concurrency; the direct baseline runs as many containers at once.
const DISPATCH = sizeFromEnv("BENCH_DISPATCH_CONCURRENCY", 16);
const POSTS_AT_ONCE = 16;

/** One container's `pct` calls on its node, in the order they started. */
interface ContainerCalls {
  readonly node: string;
  readonly vmid: number;
  readonly calls: { argv: string[]; exitCode: number | null; durationMs: number }[];
}

function callsByVmid(node: string, records: CallRecord[], vmids: Set<number>): ContainerCalls[] {
  const ends = new Map(records.flatMap((r) => (r.event === "end" ? [[r.id, r] as const] : [])));
  const byVmid = new Map<number, ContainerCalls>();
  for (const r of records) {
    if (r.event !== "start" || r.vmid === null || !vmids.has(r.vmid)) continue;
    const end = ends.get(r.id);
    if (!byVmid.has(r.vmid)) byVmid.set(r.vmid, { node, vmid: r.vmid, calls: [] });
    byVmid.get(r.vmid)!.calls.push({ argv: r.argv, exitCode: end?.exitCode ?? null, durationMs: end?.durationMs ?? 0 });
  }
  return [...byVmid.values()];
}

/** Runs the simulator as the agent runs `pct`: the executable itself, argv array, piped stdio. */
function runPct(root: string, node: string, argv: string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(simPctBin, argv, {
      env: { ...process.env, LOCKSTEP_SIM_ROOT: root, LOCKSTEP_SIM_NODE: node },
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    child.stdout.resume();
    child.stderr.resume();
    child.stdin.end();
    child.on("error", reject);
    child.on("close", (code) => resolve(code));
  });
}

const row = (label: string, s: Summary): string =>
  `  ${label.padEnd(62)} mean ${s.mean.toFixed(0).padStart(5)} ms, p50 ${s.p50.toFixed(0).padStart(5)} ms, p99 ${s.p99.toFixed(0).padStart(5)} ms`;

async function main(): Promise<void> {
  const cluster = await startCluster(bench, NODES, { LOCKSTEP_API_DISPATCH_CONCURRENCY: String(DISPATCH) });
  const roots = [...cluster.agents.values()].map((a) => a.root);
  const replayRoots = new Map(
    NODES.map((node) => [node, mkdtempSync(path.join(os.tmpdir(), `bench-direct-${node}-`))]),
  );
  try {
    const waitFor = async (operations: string[]): Promise<void> => {
      let lastReport = Date.now();
      for (;;) {
        const [rows] = await cluster.db.pool.query(
          "SELECT COUNT(*) AS n FROM operations WHERE id IN (?) AND status IN ('succeeded', 'failed', 'cancelled')",
          [operations],
        );
        const done = Number((rows as { n: number }[])[0]!.n);
        if (done === operations.length) return;
        if (Date.now() - lastReport > 15_000) {
          console.log(`  ${done} of ${operations.length} operations finished`);
          lastReport = Date.now();
        }
        await sleep(250);
      }
    };
    const createAll = async (
      items: { node: string; key: string }[],
    ): Promise<{ id: string; vmid: number; operation_id: string }[]> => {
      const created: { id: string; vmid: number; operation_id: string }[] = [];
      await inParallel(items, POSTS_AT_ONCE, async ({ node, key }) => {
        const res = await post(
          cluster.api,
          "/v1/containers",
          { node, spec: { hostname: key, source: { template: TEMPLATE } } },
          key,
        );
        if (res.status !== 202) throw new Error(`create ${key}: ${res.status} ${await res.text()}`);
        created.push((await res.json()) as { id: string; vmid: number; operation_id: string });
      });
      return created;
    };

    console.log(`warm-up: one container per node (not counted)`);
    const warm = await createAll(NODES.map((node) => ({ node, key: `warm-${node}` })));
    await waitFor(warm.map((c) => c.operation_id));

    console.log(
      `creating ${CONTAINERS} containers on ${NODES.length} nodes through the API (dispatch concurrency ${DISPATCH})...`,
    );
    const t0 = Date.now();
    const wallStart = process.hrtime.bigint();
    const created = await createAll(
      Array.from({ length: CONTAINERS }, (_, i) => ({ node: NODES[i % NODES.length]!, key: `ct-${i}` })),
    );
    const accepted = msSince(wallStart);
    await waitFor(created.map((c) => c.operation_id));
    const wall = msSince(wallStart);

    const [opRows] = await cluster.db.pool.query(
      "SELECT o.id, o.status, o.attempts, o.steps, o.created_at, o.finished_at, c.node, c.vmid FROM operations o JOIN containers c ON c.id = o.container_id WHERE o.id IN (?)",
      [created.map((c) => c.operation_id)],
    );
    const ops = (
      opRows as {
        status: string;
        attempts: number;
        steps: unknown;
        created_at: Date;
        finished_at: Date;
        node: string;
        vmid: number;
      }[]
    ).map((o) => {
      const steps = (typeof o.steps === "string" ? JSON.parse(o.steps) : o.steps) as { started_at: string }[];
      const firstStep = Math.min(...steps.map((s) => Date.parse(s.started_at)));
      return {
        ...o,
        busy: o.finished_at.getTime() - firstStep,
        latency: o.finished_at.getTime() - o.created_at.getTime(),
      };
    });
    const failed = ops.filter((o) => o.status !== "succeeded").length;
    const retried = ops.filter((o) => o.attempts > 1).length;
    const lastFinish = Math.max(...ops.map((o) => o.finished_at.getTime()));

    const vmids = new Set(created.map((c) => c.vmid));
    const perContainer = NODES.flatMap((node, i) => callsByVmid(node, readCalls(roots[i]!), vmids));
    const simOwn = new Map(
      perContainer.map((c) => [`${c.node}/${c.vmid}`, c.calls.reduce((s, call) => s + call.durationMs, 0)]),
    );
    const busy = ops.map((o) => o.busy);
    const own = ops.map((o) => simOwn.get(`${o.node}/${o.vmid}`) ?? 0);
    const overhead = ops.map((o, i) => o.busy - own[i]!);
    const callCounts = perContainer.map((c) => c.calls.length);

    console.log(
      `direct baseline: the same ${count(callCounts.reduce((s, n) => s + n, 0))} pct calls on fresh nodes, ${DISPATCH} containers at a time, no Lockstep...`,
    );
    for (const [node, root] of replayRoots) await runPct(root, node, ["list"]); // lays the node out
    const direct = new Map<string, number>();
    let mismatched = 0;
    const directStart = process.hrtime.bigint();
    await inParallel(perContainer, DISPATCH, async (c) => {
      const root = replayRoots.get(c.node)!;
      let total = 0;
      for (const call of c.calls) {
        const start = process.hrtime.bigint();
        const code = await runPct(root, c.node, call.argv);
        total += msSince(start);
        if (code !== call.exitCode) mismatched++;
      }
      direct.set(`${c.node}/${c.vmid}`, total);
    });
    const directWall = msSince(directStart);
    const directOwn = new Map(
      NODES.flatMap((node) => callsByVmid(node, readCalls(replayRoots.get(node)!), vmids)).map((c) => [
        `${c.node}/${c.vmid}`,
        c.calls.reduce((s, call) => s + call.durationMs, 0),
      ]),
    );
    const directBusy = ops.map((o) => direct.get(`${o.node}/${o.vmid}`) ?? 0);
    const startup = ops.map((o, i) => directBusy[i]! - (directOwn.get(`${o.node}/${o.vmid}`) ?? 0));
    const lockstepItself = ops.map((o, i) => o.busy - directBusy[i]!);

    const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
    console.log(`\nend to end: ${count(CONTAINERS)} containers on ${NODES.length} simulated nodes through the API:`);
    console.log(
      `  operations: ${ops.length - failed} succeeded, ${failed} failed, ${retried} needed more than one attempt`,
    );
    console.log(
      `  wall time: ${(wall / 1000).toFixed(1)} s (all ${CONTAINERS} accepted in ${(accepted / 1000).toFixed(1)} s; last finished ${((lastFinish - t0) / 1000).toFixed(1)} s after the first POST), ${((CONTAINERS / wall) * 1000).toFixed(2)} containers/s, ${(wall / CONTAINERS).toFixed(0)} ms of wall time per container`,
    );
    console.log(`  pct calls per container: ${summarize(callCounts).p50} (p50), ${summarize(callCounts).max} (max)`);
    console.log(`  per container (over ${ops.length} containers):`);
    console.log(row("operation latency (POST accepted → operation finished)", summarize(ops.map((o) => o.latency))));
    console.log(row("Lockstep busy time (job's first step started → finished)", summarize(busy)));
    console.log(row("baseline, simulator's own time (Σ its pct calls' durations)", summarize(own)));
    console.log(row("Lockstep overhead = busy time − simulator's own time", summarize(overhead)));
    console.log(`  ratio overhead / simulator's own time (means): ${ratio(mean(overhead), mean(own))}`);
    console.log(
      `  baseline 2, the same pct calls run directly (${mismatched} exit statuses differed from Lockstep's run):`,
    );
    console.log(row("  direct: spawn → exit of each call, summed", summarize(directBusy)));
    console.log(row("  of which pct process start-up and exit (direct − sim's own)", summarize(startup)));
    console.log(row("  Lockstep itself = busy time − direct", summarize(lockstepItself)));
    console.log(
      `    direct wall time ${(directWall / 1000).toFixed(1)} s; ratio Lockstep wall / direct wall: ${ratio(wall, directWall)}`,
    );
    if (failed > 0) process.exitCode = 1;
  } finally {
    await cluster.stop();
    await bench.close();
    for (const root of replayRoots.values()) rmSync(root, { recursive: true, force: true });
  }
}

await main();
