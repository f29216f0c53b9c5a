import test from "ava";
import { createMemoryLogger, ManualClock } from "@lockstep/shared";
import type { NodeProbe } from "../../src/health/node-probe.js";
import { ServingMonitor, type ServingState } from "../../src/health/serving-monitor.js";
import type { ClusterFsStatus } from "../../src/node/cluster-fs.js";

const ANSWERING: NodeProbe = {
  pctResponsive: true,
  pctDetail: "",
  clusterFsState: "ok",
  clusterFsDetail: "",
  cluster: null,
};
const PCT_HUNG: NodeProbe = { ...ANSWERING, pctResponsive: false, pctDetail: "pct list did not answer within 500 ms" };
const PAUSED: ClusterFsStatus = {
  state: "unresponsive",
  detail: "lstat of /etc/pve/local did not answer",
  observedAtMs: 0,
};
const INTERVAL_MS = 1_000;

/** A probe whose answers the test gives, one per call, when it chooses (the oldest waiting, or the newest). */
function scriptedProbe(): {
  probe: () => Promise<NodeProbe>;
  calls: number;
  answer(found: NodeProbe, which?: "oldest" | "newest"): Promise<void>;
} {
  const pending: ((found: NodeProbe) => void)[] = [];
  const script = {
    calls: 0,
    probe: () => {
      script.calls++;
      return new Promise<NodeProbe>((resolve) => pending.push(resolve));
    },
    answer: async (found: NodeProbe, which: "oldest" | "newest" = "oldest") => {
      await settled();
      const next = which === "oldest" ? pending.shift() : pending.pop();
      if (!next) throw new Error("no probe is waiting for an answer");
      next(found);
      await settled();
    },
  };
  return script;
}

/** Lets every promise chain already resolved run on (no timer, no clock). */
const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function monitorOf(probe: () => Promise<NodeProbe>, clock = new ManualClock()): ServingMonitor {
  return new ServingMonitor({ probe, intervalMs: INTERVAL_MS, clock, logger: createMemoryLogger() });
}

test("the node is NOT_SERVING until its first probe answers, then SERVING", async (t) => {
  const script = scriptedProbe();
  const monitor = monitorOf(script.probe);
  monitor.start();
  t.is(monitor.current().status, "NOT_SERVING");
  await script.answer(ANSWERING);
  t.like(monitor.current(), { status: "SERVING", detail: "" });
  monitor.stop();
});

test("a pct that does not answer makes the node NOT_SERVING, naming why", async (t) => {
  const script = scriptedProbe();
  const monitor = monitorOf(script.probe);
  monitor.start();
  await script.answer(PCT_HUNG);
  t.like(monitor.current(), {
    status: "NOT_SERVING",
    detail: "pct does not answer: pct list did not answer within 500 ms",
  });
  monitor.stop();
});

test("a cluster filesystem that stops being trusted makes the node NOT_SERVING at once, before any probe answers", async (t) => {
  const script = scriptedProbe();
  const monitor = monitorOf(script.probe);
  monitor.start();
  await script.answer(ANSWERING);
  monitor.clusterFsChanged(PAUSED);
  t.like(monitor.current(), {
    status: "NOT_SERVING",
    detail: `the cluster filesystem is unresponsive: ${PAUSED.detail}`,
  });
  monitor.stop();
});

test("a probe that began before the cluster filesystem changed does not set the status; the probe after the change does", async (t) => {
  const script = scriptedProbe();
  const monitor = monitorOf(script.probe);
  monitor.start();
  monitor.clusterFsChanged(PAUSED);
  // The first probe saw /etc/pve fine just before it hung: its answer is out of date.
  await script.answer(ANSWERING);
  t.is(monitor.current().status, "NOT_SERVING");
  t.is(script.calls, 2, "a fresh probe followed the change");
  await script.answer({
    ...ANSWERING,
    clusterFsState: "unresponsive",
    clusterFsDetail: PAUSED.detail,
    pctResponsive: false,
  });
  t.is(monitor.current().status, "NOT_SERVING");
  monitor.stop();
});

test("a cluster filesystem trusted again brings SERVING back only once a fresh probe finds pct answering", async (t) => {
  const script = scriptedProbe();
  const monitor = monitorOf(script.probe);
  monitor.start();
  monitor.clusterFsChanged(PAUSED);
  await script.answer(ANSWERING);
  await script.answer({ ...PCT_HUNG, clusterFsState: "unresponsive", clusterFsDetail: PAUSED.detail });
  monitor.clusterFsChanged({ state: "ok", detail: "", observedAtMs: 1 });
  t.is(monitor.current().status, "NOT_SERVING", "not before pct has answered");
  await script.answer(ANSWERING);
  t.is(monitor.current().status, "SERVING");
  monitor.stop();
});

test("answers that come back out of order: the status follows the probe that started last", async (t) => {
  const script = scriptedProbe();
  const monitor = monitorOf(script.probe);
  monitor.start();
  await script.answer(ANSWERING);
  // Two Health calls, each with its own probe: the first one's pct hangs until its bound.
  const first = monitor.probe();
  const second = monitor.probe();
  t.is(script.calls, 3, "neither joined the other");
  await script.answer(ANSWERING, "newest");
  await second;
  await script.answer(PCT_HUNG);
  await first;
  t.is(monitor.current().status, "SERVING", "the older answer came last and is out of date");
  monitor.stop();
});

test("the monitor probes on its own only when no probe ran for its interval", async (t) => {
  const clock = new ManualClock();
  const script = scriptedProbe();
  const monitor = monitorOf(script.probe, clock);
  monitor.start();
  await script.answer(ANSWERING);
  clock.advance(INTERVAL_MS / 2);
  // A Health call half-way through: the monitor's next own probe waits a full interval from it.
  const health = monitor.probe();
  await script.answer(ANSWERING);
  await health;
  clock.advance(INTERVAL_MS / 2);
  await settled();
  t.is(script.calls, 2, "no probe of its own half an interval after Health's");
  clock.advance(INTERVAL_MS / 2);
  await settled();
  t.is(script.calls, 3, "one an interval after Health's");
  monitor.stop();
});

test("watchers hear each change of status once, then NOT_SERVING and their end when the agent stops", async (t) => {
  const script = scriptedProbe();
  const monitor = monitorOf(script.probe);
  const heard: string[] = [];
  monitor.watch(
    (state: ServingState) => heard.push(state.status),
    () => heard.push("stopped"),
  );
  monitor.start();
  await script.answer(ANSWERING);
  const again = monitor.probe();
  await script.answer(ANSWERING);
  await again;
  t.deepEqual(heard, ["SERVING"], "an unchanged status is not heard again");
  monitor.stop();
  t.deepEqual(heard, ["SERVING", "NOT_SERVING", "stopped"]);
});

test("a watcher that comes after the agent stopped is let go at once", (t) => {
  const monitor = monitorOf(scriptedProbe().probe);
  monitor.stop();
  let ended = false;
  monitor.watch(
    () => t.fail("no change after the stop"),
    () => (ended = true),
  );
  t.true(ended);
});
