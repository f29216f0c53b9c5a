// Benchmark: dispatch latency, from a create's commit to the node's agent receiving the job's
// first call (the GetContainer that locates its container), through a real API process and a
// recording agent over mutual TLS. One create at a time on an otherwise idle API: the figure is
// the latency of the dispatch path (the API wakes its dispatcher after each commit), not of a
// queue under load. Each sample runs from the POST's start, so it includes the create's own
// latency (printed beside it): the commit is inside that request. With one API process, then
// with two sharing the creates (each wakes its own dispatcher; the other polls), on one MariaDB
// server, then on a 3-node Galera cluster through its proxy.
// Run: pnpm exec tsx bench/dispatch-latency.ts   (BENCH_DISPATCHES, default 200; BENCH_GALERA=0 for one server only)
import { createTestDatabase } from "../packages/api/test/support/test-database.js";
import { post, startApi, type ApiUnderTest } from "../test/support/cluster.js";
import { sizeFromEnv } from "./support/bench-env.js";
import { startRecordingAgent, type RecordingAgent } from "./support/recording-agent.js";
import { describe, summarize, type Summary } from "./support/stats.js";
import { msSince, sleep } from "./support/timing.js";
import { forEachTopology, type Topology } from "./support/topologies.js";

const DISPATCHES = sizeFromEnv("BENCH_DISPATCHES", 200);
const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";
const GOAL_P99_MS = 250;
const TEN_MINUTES = String(10 * 60_000);
// Between creates, so that each is dispatched on an idle API.
const PAUSE_MS = 20;

const API_ENV = {
  // The default poll: a dispatch faster than it comes from the wake after the commit.
  LOCKSTEP_API_DISPATCH_POLL_MS: "500",
  LOCKSTEP_API_JOB_BACKOFF_BASE_MS: TEN_MINUTES,
  LOCKSTEP_API_JOB_BACKOFF_MAX_MS: TEN_MINUTES,
  LOCKSTEP_API_HEALTH_INTERVAL_MS: TEN_MINUTES,
  LOCKSTEP_API_RECONCILE_INTERVAL_MS: String(24 * 60 * 60_000),
  LOCKSTEP_API_SHUTDOWN_DRAIN_MS: "2000",
};

interface Figures {
  readonly label: string;
  readonly dispatch: Summary;
  readonly create: Summary;
}

/** `DISPATCHES` creates, one at a time, sent to the API processes in turn (as a load balancer would). */
async function measure(
  label: string,
  apis: readonly ApiUnderTest[],
  agent: RecordingAgent,
  first: number,
): Promise<Figures> {
  const dispatch: number[] = [];
  const create: number[] = [];
  for (let i = first; i < first + DISPATCHES; i++) {
    const start = process.hrtime.bigint();
    const res = await post(
      apis[i % apis.length]!,
      "/v1/containers",
      { node: "pve1", spec: { hostname: `dispatch-${i}`, source: { template: TEMPLATE } } },
      `bench-dispatch-${i}`,
    );
    if (res.status !== 202) throw new Error(`create ${i}: ${res.status} ${await res.text()}`);
    create.push(msSince(start));
    const { vmid } = (await res.json()) as { vmid: number };
    const arrived = await arrivalOf(agent.arrival, vmid);
    dispatch.push(Number(arrived - start) / 1e6);
    await sleep(PAUSE_MS);
  }
  return { label, dispatch: summarize(dispatch), create: summarize(create) };
}

async function benchmark({ name, server }: Topology): Promise<Figures[]> {
  const agent = await startRecordingAgent("pve1");
  const db = await createTestDatabase(server);
  const apis: ApiUnderTest[] = [];
  try {
    apis.push(await startApi(db.url, API_ENV));
    const registered = await post(apis[0]!, "/v1/nodes", { name: "pve1", address: agent.address }, "bench-node");
    if (registered.status !== 201) throw new Error(`registering pve1: ${registered.status} ${await registered.text()}`);
    // A node of its own: a job needs no health call to learn its cluster before it locates.
    await db.pool.query("UPDATE nodes SET cluster = '', cluster_members = '[]' WHERE name = 'pve1'");
    const one = await measure(`${name}, one API process`, apis, agent, 0);
    apis.push(await startApi(db.url, API_ENV));
    const two = await measure(`${name}, two API processes, creates alternating`, apis, agent, DISPATCHES);
    return [one, two];
  } finally {
    await Promise.all(apis.map((api) => api.stop()));
    await agent.stop();
    await db.drop();
  }
}

async function main(): Promise<void> {
  const results = (await forEachTopology(benchmark)).flat();
  for (const { label, dispatch, create } of results) {
    console.log(`\n${label}: dispatch latency, POST to the agent's first call: ${describe(dispatch)}`);
    console.log(`  of which the create's own answer: ${describe(create)}`);
    console.log(
      `  goal: p99 under ${GOAL_P99_MS} ms on an idle system: ${dispatch.p99 < GOAL_P99_MS ? "met" : "NOT met"} (p99 ${dispatch.p99.toFixed(1)} ms)`,
    );
  }
}

/** When the agent saw the VMID's first call; throws after 10 s without one. */
async function arrivalOf(arrival: (vmid: number) => bigint | undefined, vmid: number): Promise<bigint> {
  for (let waited = 0; waited < 10_000; waited++) {
    const at = arrival(vmid);
    if (at !== undefined) return at;
    await sleep(1);
  }
  throw new Error(`no call for VMID ${vmid} reached the agent within 10 s`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
