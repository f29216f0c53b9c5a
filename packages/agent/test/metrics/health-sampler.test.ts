import test from "ava";
import { HealthSampler } from "../../src/metrics/health-sampler.js";

/** A probe whose answers the test hands out one by one. */
function controlledProbe(): { probe: () => Promise<string>; started: () => number; answer(value: string): void } {
  const pending: ((value: string) => void)[] = [];
  let started = 0;
  return {
    probe: () => new Promise<string>((resolve) => (started++, pending.push(resolve))),
    started: () => started,
    answer: (value) => pending.shift()!(value),
  };
}

test("the first read waits for the probe's answer", async (t) => {
  const p = controlledProbe();
  const sampler = new HealthSampler(p.probe, 10);
  const read = sampler.read();
  p.answer("healthy");
  t.is(await read, "healthy");
});

test("reads while a probe runs share it", async (t) => {
  const p = controlledProbe();
  const sampler = new HealthSampler(p.probe, 10);
  const reads = [sampler.read(), sampler.read(), sampler.read()];
  p.answer("healthy");
  t.deepEqual(await Promise.all(reads), ["healthy", "healthy", "healthy"]);
  t.is(p.started(), 1);
});

test("a probe slower than the wait leaves the last answer standing, and its own answer counts once it comes", async (t) => {
  const p = controlledProbe();
  let now = 0;
  const sampler = new HealthSampler(p.probe, 10, 1_000, () => now);
  const first = sampler.read();
  p.answer("healthy");
  await first;
  now = 5_000;
  t.is(await sampler.read(), "healthy", "the slow probe was not waited for past 10 ms");
  p.answer("pct hung");
  await new Promise((r) => setImmediate(r));
  t.is(await sampler.read(), "pct hung");
  t.is(p.started(), 2);
});

test("an answer younger than the fresh window is reused without probing", async (t) => {
  const p = controlledProbe();
  let now = 0;
  const sampler = new HealthSampler(p.probe, 10, 1_000, () => now);
  const first = sampler.read();
  p.answer("healthy");
  await first;
  now = 999;
  t.is(await sampler.read(), "healthy");
  t.is(p.started(), 1);
});

test("a probe that fails leaves the last answer standing", async (t) => {
  let calls = 0;
  let now = 0;
  const sampler = new HealthSampler(
    async () => (calls++ === 0 ? "healthy" : Promise.reject(new Error("boom"))),
    10,
    1_000,
    () => now,
  );
  t.is(await sampler.read(), "healthy");
  now = 2_000;
  t.is(await sampler.read(), "healthy");
});
