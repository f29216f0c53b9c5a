import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { ManualClock } from "@lockstep/shared";
import { fingerprintOf, type RequestStore } from "../../src/dedup/index.js";
import { logLines, openStore, spawnLifetime, tempDir } from "./temp-store.js";

const start = (requestId: string) => ({
  requestId,
  method: "UpdateConfig",
  vmid: 103,
  fingerprint: fingerprintOf({ vmid: 103, set: { memory: "512" } }),
});
const id = (n: number) => `req-compact-${String(n).padStart(5, "0")}`;

async function fill(
  store: RequestStore,
  from: number,
  to: number,
  value: (n: number) => unknown = (n) => ({ n }),
): Promise<void> {
  for (let n = from; n < to; n++) {
    await store.begin(start(id(n)));
    await store.finish(id(n), { value: value(n) });
  }
}

test("compaction keeps every live record and drops superseded and expired lines", async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock();
  const store = await openStore(t, dir, { clock, retentionMs: 60_000 });
  await fill(store, 0, 10);
  clock.advance(60_000);
  await fill(store, 10, 30);
  await store.begin(start(id(30))); // still running: kept as running
  await store.compact();

  t.is(store.stats.records, 21);
  t.is(logLines(dir).length, 1 + 21);
  t.is(store.get(id(0)), undefined);
  t.like(store.get(id(29)), { status: "succeeded", value: { n: 29 } });
  await store.finish(id(30), { value: { n: 30 } });
  await store.close();

  const reopened = await openStore(t, dir, { clock, retentionMs: 60_000 });
  t.is(reopened.stats.records, 21);
  for (let n = 10; n <= 30; n++) t.like(reopened.get(id(n)), { status: "succeeded", value: { n } });
});

test("compaction keeps outcomes too large to hold in memory and finds them at their new place", async (t) => {
  const dir = tempDir(t);
  const big = (n: number) => ({ n, stdout: String(n).repeat(5_000) });
  const store = await openStore(t, dir, { inlineOutcomeBytes: 1024, maxRecords: 1_000 });
  await fill(store, 0, 20, big);
  await store.compact();
  for (const n of [0, 7, 19]) t.deepEqual(store.get(id(n))?.value, big(n));
  await store.close();
  const reopened = await openStore(t, dir, { inlineOutcomeBytes: 1024 });
  t.deepEqual(reopened.get(id(13))?.value, big(13));
});

test("the log compacts by itself once it holds over twice as many lines as live records", async (t) => {
  const dir = tempDir(t);
  const store = await openStore(t, dir, { maxRecords: 10, compactMinBytes: 1 });
  await fill(store, 0, 200);
  await store.close();
  t.true(logLines(dir).length <= 1 + 2 * 10 + 2, `log has ${logLines(dir).length} lines`);
  t.true(store.logger.entries.some((entry) => entry.msg === "request log compacted"));
  const reopened = await openStore(t, dir, { maxRecords: 10 });
  t.like(reopened.get(id(199)), { status: "succeeded", value: { n: 199 } });
});

test("a leftover compaction temp file is removed at open and the log it did not replace is used", async (t) => {
  const dir = tempDir(t);
  const first = await openStore(t, dir);
  await fill(first, 0, 5);
  await first.close();
  writeFileSync(
    path.join(dir, "requests.log.compact"),
    '{"format":"lockstep-agent-requests","version":1}\n{"requestId":"half',
  );

  const second = await openStore(t, dir);
  t.false(existsSync(path.join(dir, "requests.log.compact")));
  t.is(second.stats.records, 5);
  t.true(second.logger.entries.some((entry) => entry.msg === "removed the temp file of an unfinished compaction"));
});

for (const step of ["temp-synced", "renamed"] as const) {
  test(`a crash during compaction at '${step}' loses no record`, async (t) => {
    const dir = tempDir(t);
    const first = await openStore(t, dir, { maxRecords: 1_000 });
    await fill(first, 0, 50);
    await first.close();

    const child = spawnLifetime(["compact-crash", dir, path.join(dir, "unused"), step]);
    t.is(await child.exited, "SIGKILL", await child.output);

    const reopened = await openStore(t, dir);
    t.is(reopened.stats.records, 50);
    for (let n = 0; n < 50; n++) t.like(reopened.get(id(n)), { status: "succeeded", value: { n } });
    t.false(existsSync(path.join(dir, "requests.log.compact")));
  });
}

test("appends after a compaction land in the new log", async (t) => {
  const dir = tempDir(t);
  const store = await openStore(t, dir);
  await fill(store, 0, 3);
  await store.compact();
  await fill(store, 3, 6);
  await store.close();
  const reopened = await openStore(t, dir);
  t.is(reopened.stats.records, 6);
});
