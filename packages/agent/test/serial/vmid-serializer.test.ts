import test from "ava";
import { VmidSerializer } from "../../src/serial/index.js";
import { OperationRunningError } from "../../src/errors.js";

const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

test("work on one VMID runs one at a time, in submission order", async (t) => {
  const serializer = new VmidSerializer();
  const events: string[] = [];
  const work = (name: string, ms: number) => async () => {
    events.push(`start ${name}`);
    await tick(ms);
    events.push(`end ${name}`);
    return name;
  };
  const results = await Promise.all([
    serializer.run(101, work("a", 15)),
    serializer.run(101, work("b", 1)),
    serializer.run(101, work("c", 5)),
  ]);
  t.deepEqual(results, ["a", "b", "c"]);
  t.deepEqual(events, ["start a", "end a", "start b", "end b", "start c", "end c"]);
});

test("work on different VMIDs runs concurrently", async (t) => {
  const serializer = new VmidSerializer();
  let running = 0;
  let most = 0;
  const work = async () => {
    running += 1;
    most = Math.max(most, running);
    await tick(20);
    running -= 1;
  };
  await Promise.all([101, 102, 103, 104].map((vmid) => serializer.run(vmid, work)));
  t.is(most, 4);
});

test("a failure reaches its caller and does not block later work on the same VMID", async (t) => {
  const serializer = new VmidSerializer();
  const failed = serializer.run(101, async () => Promise.reject(new Error("pct failed")));
  const next = serializer.run(101, async () => "ran");
  await t.throwsAsync(failed, { message: "pct failed" });
  t.is(await next, "ran");
});

test("a waiter that gives up leaves the queue intact and its work never runs", async (t) => {
  const serializer = new VmidSerializer();
  const order: string[] = [];
  let finishFirst!: () => void;
  const first = serializer.run(101, () =>
    new Promise<void>((resolve) => (finishFirst = resolve)).then(() => order.push("first")),
  );
  const controller = new AbortController();
  const abandoned = serializer.run(101, async () => order.push("abandoned"), { signal: controller.signal });
  const third = serializer.run(101, async () => order.push("third"));
  controller.abort(new Error("deadline passed"));
  await t.throwsAsync(abandoned, { message: "deadline passed" });
  finishFirst();
  await Promise.all([first, third]);
  t.deepEqual(order, ["first", "third"]);
});

test("an already aborted signal rejects at once without queueing", async (t) => {
  const serializer = new VmidSerializer();
  await t.throwsAsync(
    serializer.run(101, async () => t.fail("ran"), { signal: AbortSignal.abort(new Error("too late")) }),
    { message: "too late" },
  );
  t.is(serializer.busyVmids, 0);
});

test("a VMID with nothing queued is forgotten", async (t) => {
  const serializer = new VmidSerializer();
  const pending = Promise.all([serializer.run(101, () => tick()), serializer.run(102, () => tick())]);
  t.is(serializer.busyVmids, 2);
  await pending;
  t.is(serializer.busyVmids, 0);
});

test("work that fails with OPERATION_RUNNING answers at once but keeps the VMID until its task worker ends", async (t) => {
  const serializer = new VmidSerializer();
  let endWorker!: () => void;
  const ended = new Promise<void>((resolve) => (endWorker = resolve));
  const running = new OperationRunningError(
    "still running",
    "UPID:n:00000001:00000002:00000003:vzcreate:100:root@pam:",
    ended,
  );
  await t.throwsAsync(
    serializer.run(100, () => Promise.reject(running)),
    { is: running },
  );
  let nextStarted = false;
  const next = serializer.run(100, async () => (nextStarted = true));
  await new Promise((resolve) => setImmediate(resolve));
  t.false(nextStarted, "the next work waits while the worker lives");
  endWorker();
  await next;
  t.true(nextStarted);
});

test("a held VMID (a task worker found at boot) delays later work until the hold ends, other VMIDs run", async (t) => {
  const serializer = new VmidSerializer();
  let release!: () => void;
  serializer.hold(100, new Promise<void>((resolve) => (release = resolve)));
  const order: string[] = [];
  const held = serializer.run(100, async () => void order.push("100"));
  await serializer.run(101, async () => void order.push("101"));
  t.deepEqual(order, ["101"]);
  release();
  await held;
  t.deepEqual(order, ["101", "100"]);
});
