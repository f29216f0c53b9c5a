import { appendFileSync, readFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { LockstepError, ManualClock } from "@lockstep/shared";
import { fingerprintOf, RequestStore } from "../../src/dedup/index.js";
import { decodeRecordLine, encodeRecordLine } from "../../src/dedup/record-line.js";
import { logLines, openStore, tempDir } from "./temp-store.js";

const start = (requestId: string, vmid = 101) => ({
  requestId,
  method: "StartContainer",
  vmid,
  fingerprint: fingerprintOf({ vmid }),
});

async function finished(store: RequestStore, requestId: string, value: unknown = { ok: requestId }): Promise<void> {
  await store.begin(start(requestId));
  await store.finish(requestId, { value });
}

test("a finished record survives reopening the store", async (t) => {
  const dir = tempDir(t);
  const first = await openStore(t, dir);
  await finished(first, "req-survive-0001", { container: { vmid: 101, tags: ["a", "b"] } });
  await first.close();

  const second = await openStore(t, dir);
  t.like(second.get("req-survive-0001"), {
    status: "succeeded",
    method: "StartContainer",
    vmid: 101,
    value: { container: { vmid: 101, tags: ["a", "b"] } },
  });
  t.deepEqual(second.interruptedAtOpen, []);
});

test("a failure is stored with its code, message and metadata", async (t) => {
  const dir = tempDir(t);
  const store = await openStore(t, dir);
  await store.begin(start("req-failure-0001"));
  await store.finish("req-failure-0001", {
    error: { code: "NOT_FOUND", message: "no container 101", metadata: { vmid: "101" } },
  });
  await store.close();

  const reopened = await openStore(t, dir);
  t.deepEqual(reopened.get("req-failure-0001")?.error, {
    code: "NOT_FOUND",
    message: "no container 101",
    metadata: { vmid: "101" },
  });
});

test("the running record is on disk before begin resolves", async (t) => {
  const dir = tempDir(t);
  const store = await openStore(t, dir);
  await store.begin(start("req-durable-0001"));
  t.like(decodeRecordLine(logLines(dir).at(-1) ?? ""), {
    requestId: "req-durable-0001",
    fields: { status: "running" },
  });
});

test("a torn last line is cut off and the store still opens", async (t) => {
  const dir = tempDir(t);
  const first = await openStore(t, dir);
  await finished(first, "req-torn-00001");
  await first.close();
  const logPath = path.join(dir, "requests.log");
  const whole = readFileSync(logPath, "utf8");
  const line = encodeRecordLine("req-torn-00002", {
    method: "StartContainer",
    vmid: 101,
    fingerprint: "0".repeat(64),
    status: "running",
    startedMs: 1,
    finishedMs: 0,
    outcome: undefined,
  });
  appendFileSync(logPath, line.slice(0, line.length - 3));

  const second = await openStore(t, dir);
  t.like(second.get("req-torn-00001"), { status: "succeeded" });
  t.is(second.get("req-torn-00002"), undefined);
  t.is(readFileSync(logPath, "utf8"), whole);
  t.true(second.logger.entries.some((entry) => entry.msg === "cut off a torn last line of the request log"));
  await finished(second, "req-torn-00003");
  await second.close();
  t.like((await openStore(t, dir)).get("req-torn-00003"), { status: "succeeded" });
});

test("a finished record expires after the retention and its ID counts as new", async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock();
  const store = await openStore(t, dir, { clock, retentionMs: 60_000 });
  await finished(store, "req-expire-0001");
  clock.advance(59_999);
  t.like(store.get("req-expire-0001"), { status: "succeeded" });
  clock.advance(1);
  t.is(store.get("req-expire-0001"), undefined);
});

test("expired records are dropped when the store opens", async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock();
  const first = await openStore(t, dir, { clock, retentionMs: 60_000 });
  await finished(first, "req-expire-0002");
  clock.advance(30_000);
  await finished(first, "req-expire-0003");
  await first.close();
  clock.advance(30_000);

  const second = await openStore(t, dir, { clock, retentionMs: 60_000 });
  t.is(second.stats.records, 1);
  t.is(second.get("req-expire-0002"), undefined);
  t.like(second.get("req-expire-0003"), { status: "succeeded" });
});

test("a running record never expires", async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock();
  const store = await openStore(t, dir, { clock, retentionMs: 1_000 });
  await store.begin(start("req-running-001"));
  clock.advance(10_000);
  t.like(store.get("req-running-001"), { status: "running" });
});

test("the store stays bounded at maxRecords, evicting the oldest finished record first and never a running one", async (t) => {
  const dir = tempDir(t);
  const store = await openStore(t, dir, { maxRecords: 3 });
  await store.begin(start("req-bound-00001")); // stays running, and is the oldest
  await finished(store, "req-bound-00002");
  await finished(store, "req-bound-00003");
  await finished(store, "req-bound-00004");
  t.is(store.stats.records, 3);
  t.like(store.get("req-bound-00001"), { status: "running" });
  t.is(store.get("req-bound-00002"), undefined);
  await finished(store, "req-bound-00005");
  t.is(store.get("req-bound-00003"), undefined);
  t.deepEqual(
    ["req-bound-00001", "req-bound-00004", "req-bound-00005"].map((id) => store.get(id) !== undefined),
    [true, true, true],
  );
});

test("the bound holds again after reopening", async (t) => {
  const dir = tempDir(t);
  const first = await openStore(t, dir, { maxRecords: 2 });
  for (const n of [1, 2, 3, 4]) await finished(first, `req-bound-1000${n}`);
  await first.close();

  const second = await openStore(t, dir, { maxRecords: 2 });
  t.is(second.stats.records, 2);
  t.is(second.get("req-bound-10002"), undefined);
  t.like(second.get("req-bound-10004"), { status: "succeeded" });
});

test("a store full of running records refuses a new request with RESOURCE_EXHAUSTED", async (t) => {
  const store = await openStore(t, tempDir(t), { maxRecords: 2 });
  await store.begin(start("req-full-000001"));
  await store.begin(start("req-full-000002"));
  await t.throwsAsync(store.begin(start("req-full-000003")), { instanceOf: LockstepError, message: /all running/ });
});

test("concurrent appends share one fdatasync", async (t) => {
  const store = await openStore(t, tempDir(t));
  const before = store.stats.syncs;
  await Promise.all(
    Array.from({ length: 100 }, (_, i) => store.begin(start(`req-group-${String(i).padStart(5, "0")}`))),
  );
  t.is(store.stats.records, 100);
  t.is(store.stats.syncs - before, 1);
});

test("replaying a stored outcome reads nothing from disk", async (t) => {
  const store = await openStore(t, tempDir(t));
  await finished(store, "req-hot-000001");
  for (let i = 0; i < 1000; i++) store.get("req-hot-000001");
  t.is(store.stats.diskReads, 0);
});

test("an outcome too large to hold in memory stays in the log and is still returned, also after reopening", async (t) => {
  const dir = tempDir(t);
  const big = { stdout: "x".repeat(10_000) };
  const first = await openStore(t, dir, { inlineOutcomeBytes: 1024 });
  await finished(first, "req-large-00001", big);
  t.deepEqual(first.get("req-large-00001")?.value, big);
  t.is(first.stats.diskReads, 1);
  await first.close();

  const second = await openStore(t, dir, { inlineOutcomeBytes: 1024 });
  t.deepEqual(second.get("req-large-00001")?.value, big);
});

test("a response that is not JSON-safe is refused before anything is written", async (t) => {
  const dir = tempDir(t);
  const store = await openStore(t, dir);
  await store.begin(start("req-notjson-001"));
  const lines = logLines(dir).length;
  await t.throwsAsync(store.finish("req-notjson-001", { value: { n: 1n } }), {
    instanceOf: TypeError,
    message: /JSON-safe/,
  });
  t.is(logLines(dir).length, lines);
  t.like(store.get("req-notjson-001"), { status: "running" });
});

test("a second store on the same directory is refused while the first holds it", async (t) => {
  const dir = tempDir(t);
  const first = await openStore(t, dir);
  const err = await t.throwsAsync(RequestStore.open({ dir }), {
    instanceOf: LockstepError,
    message: new RegExp(`locked by another agent process \\(pid ${process.pid}\\)`),
  });
  t.is(err?.code, "UNAVAILABLE");
  await first.close();
  await t.notThrowsAsync(async () => (await RequestStore.open({ dir })).close());
});

test("a closed store refuses new work with UNAVAILABLE", async (t) => {
  const store = await openStore(t, tempDir(t));
  await store.close();
  await t.throwsAsync(store.begin(start("req-closed-0001")), { instanceOf: LockstepError, message: /closed/ });
});
