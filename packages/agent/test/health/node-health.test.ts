import test from "ava";
import { ManualClock } from "@lockstep/shared";
import { readNodeHealth } from "../../src/health/node-health.js";
import { probeNode } from "../../src/health/node-probe.js";
import type { NodeContext } from "../../src/node/node-context.js";
import type { HostStatsSource } from "../../src/health/host-stats.js";
import { boundedHostStats } from "../../src/health/bounded-host-stats.js";
import { fakeNode } from "../containers/fake-node.js";

const STATS = {
  cpuPercent: 1,
  load: [0, 0, 0] as const,
  memoryTotalBytes: 100,
  memoryAvailableBytes: 50,
  disks: [],
  uptimeSeconds: 1,
};
const stats: HostStatsSource = { read: async () => STATS };
const health = (ctx: NodeContext, probeTimeoutMs: number) =>
  readNodeHealth(ctx, stats, "1", () => probeNode(ctx, probeTimeoutMs));

test("health reports the cluster filesystem's state and detail", async (t) => {
  const { ctx, clusterFs } = fakeNode(t, () => ({}));
  clusterFs.state = "no-quorum";
  t.like(await health(ctx, 1_000), { clusterFsState: "no-quorum", clusterFsDetail: "set by the test" });
});

test("while the cluster filesystem is not ok, health does not wait for a pct that cannot answer", async (t) => {
  const { ctx, clusterFs } = fakeNode(t, () => ({}));
  clusterFs.state = "unresponsive";
  // A pct that never answers, as every pct does while pmxcfs hangs.
  const hung = { ...ctx, pct: { run: () => new Promise<never>(() => undefined) } };
  const started = Date.now();
  const found = await health(hung, 60_000);
  t.true(Date.now() - started < 1_000);
  t.like(found, { clusterFsState: "unresponsive", pctResponsive: false });
});

test("while the cluster filesystem is not ok, pct is not run at all: it would only hang on it too", async (t) => {
  const { ctx, clusterFs, calls } = fakeNode(t, () => ({}));
  clusterFs.state = "unresponsive";
  t.like(await health(ctx, 1_000), {
    pctResponsive: false,
    pctDetail: "not run: the cluster filesystem is unresponsive",
  });
  t.deepEqual(calls, []);
});

test("a pct that does not answer is reported unresponsive at the probe's bound, however long stopping it takes", async (t) => {
  const { ctx } = fakeNode(t, () => ({}));
  // Its runner never returns: pct hangs on a pmxcfs gone bad after the look at /etc/pve, and
  // killing it waits on the kernel.
  const hung = { ...ctx, pct: { run: () => new Promise<never>(() => undefined) } };
  const started = Date.now();
  t.like(await health(hung, 200), {
    clusterFsState: "ok",
    pctResponsive: false,
    pctDetail: "pct list did not answer within 200 ms",
  });
  t.true(Date.now() - started < 2_000);
});

test("a healthy node's pct is probed and reported responsive", async (t) => {
  const { ctx } = fakeNode(t, () => ({}));
  t.like(await health(ctx, 1_000), { clusterFsState: "ok", pctResponsive: true });
});

test("a healthy node's health names its cluster as /etc/pve/.members does", async (t) => {
  const { ctx } = fakeNode(t, () => ({}));
  t.like(await health(ctx, 1_000), { cluster: { name: "", members: [ctx.node] } });
});

test("a membership read that does not answer within the probe's bound leaves the cluster unknown, and health answers in time", async (t) => {
  const { ctx, clusterFs } = fakeNode(t, () => ({}));
  // Queued behind a read stuck on one hung file in the reader process.
  const hung = { ...ctx, clusterFs: { ...clusterFs, readFile: () => new Promise<never>(() => undefined) } };
  const started = Date.now();
  t.like(await health(hung, 200), { clusterFsState: "ok", cluster: null });
  t.true(Date.now() - started < 2_000);
});

test("while the cluster filesystem is not ok, the node's cluster is unknown", async (t) => {
  const { ctx, clusterFs } = fakeNode(t, () => ({}));
  clusterFs.state = "not-mounted";
  t.like(await health(ctx, 1_000), { cluster: null });
});

test("host statistics slower than their bound answer with the last ones read", async (t) => {
  let calls = 0;
  let release: () => void = () => undefined;
  const source: HostStatsSource = {
    read: () =>
      ++calls === 1
        ? Promise.resolve(STATS)
        : new Promise((resolve) => (release = () => resolve({ ...STATS, cpuPercent: 99 }))),
  };
  const bounded = boundedHostStats(source, { timeoutMs: 50, maxAgeMs: 0, clock: new ManualClock() });
  t.is((await bounded.read()).cpuPercent, 1);
  t.is((await bounded.read()).cpuPercent, 1, "the second read hangs: the first one's figures");
  t.is((await bounded.read()).cpuPercent, 1);
  t.is(calls, 2, "no second read starts while one still runs");
  release();
});

test("host statistics younger than their maximum age are answered without a new read", async (t) => {
  let calls = 0;
  const source: HostStatsSource = { read: async () => ({ ...STATS, cpuPercent: ++calls }) };
  const clock = new ManualClock();
  const bounded = boundedHostStats(source, { timeoutMs: 50, maxAgeMs: 10_000, clock });
  t.is((await bounded.read()).cpuPercent, 1);
  clock.advance(9_999);
  t.is((await bounded.read()).cpuPercent, 1, "still young: the same figures, no read");
  clock.advance(1);
  t.is((await bounded.read()).cpuPercent, 2, "as old as the maximum age: read again");
  t.is(calls, 2);
});
