import test from "ava";
import { createMemoryLogger, type TestScope } from "@lockstep/shared";
import { EventBus } from "../../src/events/event-bus.js";
import { LockGuard } from "../../src/locks/lock-guard.js";
import type { PctRunner } from "../../src/pct/pct-runner.js";
import { GRACE_MS, lockNode } from "./lock-fixture.js";

const POLICY = { retries: 2, backoffMs: 1000, backoffMaxMs: 4000, unlockTimeoutMs: 1000 };

/** A guard over a fake node whose `pct unlock` removes the lock line as Proxmox's remove_lock does. */
function guarded(t: TestScope) {
  const node = lockNode(t);
  const calls: string[][] = [];
  const pct: PctRunner = {
    run: async (args) => {
      calls.push([...args]);
      if (args[0] === "unlock") node.config(Number(args[1]), "hostname: ct");
      return { exitCode: 0, stdout: "", stderr: "", durationMs: 1 };
    },
  };
  const guard = new LockGuard({
    node: "pve1",
    inspector: node.inspector,
    clusterFs: node.clusterFs,
    pct,
    events: new EventBus(createMemoryLogger()),
    clock: node.clock,
    logger: createMemoryLogger(),
    policy: POLICY,
  });
  /** Runs `work`, advancing the manual clock whenever the guard sleeps. */
  const drive = async <T>(work: Promise<T>): Promise<T> => {
    let settled = false;
    void work.finally(() => (settled = true)).catch(() => undefined);
    while (!settled) {
      await new Promise((r) => setImmediate(r));
      if (node.clock.pendingSleeps > 0) node.clock.advance(POLICY.backoffMaxMs);
    }
    return work;
  };
  return { node, guard, calls, drive };
}

async function staleLock(node: ReturnType<typeof lockNode>, ...lines: string[]) {
  node.config(101, "lock: snapshot", ...lines);
  await node.inspector.inspect(101);
  node.clock.advance(GRACE_MS);
}

test("a stale lock on a container carrying the caller's marker is cleared through pct unlock", async (t) => {
  const { node, guard, calls, drive } = guarded(t);
  await staleLock(node, "tags: lockstep-abc");
  const report = await drive(guard.ensureFree(101, { owner: "lockstep-abc" }));
  t.is(report.verdict, "FREE");
  t.deepEqual(calls, [["unlock", "101"]]);
});

test("a stale lock is never unlocked for a caller that acts for no owner; it fails LOCK_HELD naming the lock", async (t) => {
  const { node, guard, calls, drive } = guarded(t);
  await staleLock(node, "tags: lockstep-abc");
  const err = await t.throwsAsync(drive(guard.ensureFree(101, {})));
  t.is((err as { code?: string }).code, "LOCK_HELD");
  t.regex(err!.message, /config lock 'snapshot' with no holder; stale, but not cleared/);
  t.deepEqual(calls, []);
});

test("a stale lock on a container carrying another marker is not unlocked", async (t) => {
  const { node, guard, calls, drive } = guarded(t);
  await staleLock(node, "tags: lockstep-someone-else");
  await t.throwsAsync(drive(guard.ensureFree(101, { owner: "lockstep-abc" })), {
    message: /does not carry this request's ownership marker/,
  });
  t.deepEqual(calls, []);
});

test("a backup lock held by a vzdump task is waited on within the bounds, then LOCK_HELD names the lock and the task", async (t) => {
  const { node, guard, calls, drive } = guarded(t);
  node.config(101, "lock: backup", "tags: lockstep-abc");
  node.task(5000, 777, "vzdump", "");
  const err = await t.throwsAsync(drive(guard.ensureFree(101, { owner: "lockstep-abc" })));
  t.regex(err!.message, /config lock 'backup' held by task vzdump pid 5000 .*gave up after 3 checks/);
  t.deepEqual(calls, []);
});

test("a wait for a held lock ends when the operation is stopped (the agent stopping), with the stop's reason", async (t) => {
  const { node, guard, calls } = guarded(t);
  node.config(101, "lock: backup", "tags: lockstep-abc");
  node.task(5000, 777, "vzdump", "");
  const stop = new AbortController();
  const op = { requestId: "r1", signal: stop.signal, logger: createMemoryLogger() };
  const waiting = guard.ensureFree(101, { op, owner: "lockstep-abc" });
  while (node.clock.pendingSleeps === 0) await new Promise((resolve) => setImmediate(resolve));
  const reason = new Error("the agent is stopping");
  stop.abort(reason);
  t.is(await t.throwsAsync(waiting), reason);
  t.is(node.clock.pendingSleeps, 0);
  t.deepEqual(calls, []);
});

test("the lock a caller's own failed call left is cleared once nothing owns it, without waiting out the grace period", async (t) => {
  const { node, guard, calls, drive } = guarded(t);
  node.config(101, "lock: snapshot-delete");
  await drive(guard.ensureFree(101, { leftover: "snapshot-delete" }));
  t.deepEqual(calls, [["unlock", "101"]]);
});

test("settle returns a stale report without clearing it", async (t) => {
  const { node, guard, calls, drive } = guarded(t);
  await staleLock(node, "tags: lockstep-abc");
  t.is((await drive(guard.settle(101, { owner: "lockstep-abc" }))).verdict, "STALE");
  t.deepEqual(calls, []);
});
