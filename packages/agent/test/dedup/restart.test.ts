import { appendFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { RequestDeduplicator } from "../../src/dedup/index.js";
import { executions, openStore, spawnLifetime, tempDir, waitForOutput } from "./temp-store.js";

// These tests run a real agent lifetime in a child process and kill it with SIGKILL, so
// nothing in that process gets to clean up: only what reached the disk survives.

test("a request whose agent is SIGKILLed mid-execution is interrupted after restart, and 50 concurrent retries execute it exactly once", async (t) => {
  const dir = tempDir(t);
  const countFile = path.join(dir, "executions");
  const child = spawnLifetime(["hang", path.join(dir, "requests"), countFile, "req-hang-000001"]);
  await waitForOutput(child, "started");
  child.kill("SIGKILL");
  t.is(await child.exited, "SIGKILL");
  t.is(executions(countFile), 1);

  const store = await openStore(t, path.join(dir, "requests"));
  t.like(store.get("req-hang-000001"), { status: "interrupted", error: { code: "INTERRUPTED" } });
  t.deepEqual(
    store.interruptedAtOpen.map((r) => r.requestId),
    ["req-hang-000001"],
  );
  t.true(store.logger.entries.some((entry) => entry.level === "warn" && entry.requestId === "req-hang-000001"));

  const dedup = new RequestDeduplicator(store);
  const request = {
    requestId: "req-hang-000001",
    method: "CreateContainer",
    vmid: 101,
    params: { vmid: 101, hostname: "web-1" },
  };
  const count = async () => {
    appendFileSync(countFile, "retry\n");
    return { created: true };
  };
  const retries = await Promise.all(Array.from({ length: 50 }, () => dedup.run(request, count)));
  t.is(executions(countFile), 2);
  t.is(retries.filter((r) => !r.replayed).length, 1);
  t.like(store.get("req-hang-000001"), { status: "succeeded", value: { created: true } });
});

test("50 concurrent duplicates split between two agent lifetimes execute once", async (t) => {
  const dir = tempDir(t);
  const countFile = path.join(dir, "executions");
  // First lifetime: 25 duplicates, then the process dies by SIGKILL right after replying.
  const child = spawnLifetime(["duplicates", path.join(dir, "requests"), countFile, "25"]);
  t.is(await child.exited, "SIGKILL");
  const flags = JSON.parse((await child.output).split("\n")[0] ?? "[]") as boolean[];
  t.is(flags.filter((replayed) => !replayed).length, 1);
  t.is(flags.length, 25);

  // Second lifetime: 25 more duplicates of the same request.
  const store = await openStore(t, path.join(dir, "requests"));
  const dedup = new RequestDeduplicator(store);
  const request = { requestId: "req-duplicates-0001", method: "StartContainer", vmid: 102, params: { vmid: 102 } };
  const results = await Promise.all(
    Array.from({ length: 25 }, () => dedup.run(request, async () => t.fail("executed in the second lifetime"))),
  );
  t.true(results.every((r) => r.replayed && (r.value as { status: string }).status === "running"));
  t.is(executions(countFile), 1);
});
