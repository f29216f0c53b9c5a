import test from "ava";
import { LockstepError } from "@lockstep/shared";
import { caller, countingExecutor, start } from "./executor-fixture.js";

test("a second call with the request ID of a running operation gets its outcome without running it again", async (t) => {
  const { executor, logger, runs, finish } = countingExecutor();
  const first = executor.mutate("StartContainer", start("req-once-0001"), caller("req-once-0001", logger));
  const second = executor.mutate("StartContainer", start("req-once-0001"), caller("req-once-0001", logger));
  finish();
  t.deepEqual(await second, await first);
  t.is(runs(), 1);
});

test("a finished outcome nobody released is collected by a later call with its request ID", async (t) => {
  const { executor, logger, runs, finish } = countingExecutor();
  finish();
  await executor.mutate("StartContainer", start("req-keep-0001"), caller("req-keep-0001", logger));
  const again = await executor.mutate("StartContainer", start("req-keep-0001"), caller("req-keep-0001", logger));
  t.true(again.changed);
  t.is(runs(), 1);
});

test("a released outcome is forgotten: the same request ID runs again", async (t) => {
  const { executor, logger, runs, finish } = countingExecutor();
  finish();
  await executor.mutate("StartContainer", start("req-free-0001"), caller("req-free-0001", logger));
  executor.release("req-free-0001");
  await executor.mutate("StartContainer", start("req-free-0001"), caller("req-free-0001", logger));
  t.is(runs(), 2);
});

test("releasing a running operation does not forget it: a retry still joins it", async (t) => {
  const { executor, logger, runs, finish } = countingExecutor();
  const first = executor.mutate("StartContainer", start("req-join-0001"), caller("req-join-0001", logger));
  executor.release("req-join-0001");
  const retry = executor.mutate("StartContainer", start("req-join-0001"), caller("req-join-0001", logger));
  finish();
  await Promise.all([first, retry]);
  t.is(runs(), 1);
});

test("an outcome kept past keepOutcomesMs is forgotten", async (t) => {
  const { executor, clock, logger, runs, finish } = countingExecutor(1_000);
  finish();
  await executor.mutate("StartContainer", start("req-old-00001"), caller("req-old-00001", logger));
  clock.advance(1_001);
  await executor.mutate("StartContainer", start("req-old-00001"), caller("req-old-00001", logger));
  t.is(runs(), 2);
});

test("the request ID of a running operation on another VMID is REQUEST_ID_REUSED", async (t) => {
  const { executor, logger, finish } = countingExecutor();
  const first = executor.mutate("StartContainer", start("req-reuse-001", 100), caller("req-reuse-001", logger));
  const err = await t.throwsAsync(
    executor.mutate("StartContainer", start("req-reuse-001", 101), caller("req-reuse-001", logger)),
    { instanceOf: LockstepError },
  );
  t.is(err?.code, "REQUEST_ID_REUSED");
  finish();
  await first;
});

test("a draining executor refuses new operations with UNAVAILABLE but still answers a known request ID", async (t) => {
  const { executor, logger, runs, finish } = countingExecutor();
  const running = executor.mutate("StartContainer", start("req-drain-001"), caller("req-drain-001", logger));
  executor.drain();
  const err = await t.throwsAsync(
    executor.mutate("StartContainer", start("req-drain-002"), caller("req-drain-002", logger)),
    { instanceOf: LockstepError },
  );
  t.is(err?.code, "UNAVAILABLE");
  const joined = executor.mutate("StartContainer", start("req-drain-001"), caller("req-drain-001", logger));
  finish();
  t.deepEqual(await joined, await running);
  t.is(runs(), 1);
});

test("the caller's signal is the operation's: in one process, the agent's stop reaches the work", async (t) => {
  let seen: AbortSignal | undefined;
  const StopContainer = async (_request: unknown, op: { signal: AbortSignal }) => {
    seen = op.signal;
    return { replayed: false, status: 2, changed: true };
  };
  const { executor, logger } = countingExecutor(60_000, { StopContainer });
  const stop = new AbortController();
  await executor.mutate("StopContainer", start("req-signal-01"), caller("req-signal-01", logger, stop.signal));
  t.false(seen!.aborted);
  stop.abort();
  t.true(seen!.aborted);
});

test("past maxConcurrentOperations running, the executor refuses another with RESOURCE_EXHAUSTED, whatever the network side admitted", async (t) => {
  const { executor, logger, runs, finish } = countingExecutor(60_000, {}, 1);
  const running = executor.mutate("StartContainer", start("req-full-0001", 100), caller("req-full-0001", logger));
  const err = await t.throwsAsync(
    executor.mutate("StartContainer", start("req-full-0002", 101), caller("req-full-0002", logger)),
    { instanceOf: LockstepError },
  );
  t.is(err?.code, "RESOURCE_EXHAUSTED");
  finish();
  await running;
  await executor.mutate("StartContainer", start("req-full-0002", 101), caller("req-full-0002", logger));
  t.is(runs(), 2);
});
