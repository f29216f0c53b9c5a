import { writeFileSync } from "node:fs";
import test from "ava";
import { createMemoryLogger, type TestScope } from "@lockstep/shared";
import { EventBus } from "../../src/events/event-bus.js";
import type { NodeEvent } from "../../src/events/node-event.js";
import { LockWatcher } from "../../src/locks/lock-watcher.js";
import { lockFilePath } from "../../src/node/node-paths.js";
import { lockNode } from "./lock-fixture.js";

/** Waits for something the real directory watcher does; fails the test after `ms`. */
async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  for (const deadline = Date.now() + ms; !condition();) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function watchedNode(t: TestScope) {
  const node = lockNode(t);
  const bus = new EventBus(createMemoryLogger());
  const published: NodeEvent[] = [];
  bus.subscribe((e) => published.push(e));
  const watcher = new LockWatcher({
    node: "pve1",
    dir: node.paths.lockDir,
    inspector: node.inspector,
    events: bus,
    clock: node.clock,
    logger: createMemoryLogger(),
  });
  await watcher.start();
  t.teardown(() => watcher.stop());
  return { node, published };
}

// pve-common src/PVE/Tools.pm lock_file_full: `new IO::File($filename, O_CREAT|O_WRONLY)` then
// flock($fh, LOCK_EX); util-linux flock(1) likewise opens (creating) before it locks. The flock
// itself changes nothing on disk, so the watcher's one event is the file's creation.
test("a lock file found free when it appears is looked at once more and reported when its creator then flocks it", async (t) => {
  const { node, published } = await watchedNode(t);
  node.config(102, "hostname: ct102");
  writeFileSync(lockFilePath(node.paths, 102), "");
  await until(() => node.clock.pendingSleeps === 1, "the watcher to wait for a second look");
  t.deepEqual(published, []);
  node.process(4242, 50, "flock /run/lock/lxc/pve-config-102.lock sleep 30");
  node.kernelLock(102, "FLOCK", 4242);
  node.clock.advance(250);
  await until(() => published.length > 0, "lock-detected");
  t.like(published[0], { vmid: 102, kind: "lock-detected" });
  t.regex(published[0]!.detail, /^HELD: held by pid 4242/);
});

test("a lock file that stays free is looked at twice and reported never", async (t) => {
  const { node, published } = await watchedNode(t);
  node.config(103, "hostname: ct103");
  writeFileSync(lockFilePath(node.paths, 103), "");
  await until(() => node.clock.pendingSleeps === 1, "the watcher to wait for a second look");
  node.clock.advance(250);
  await new Promise((r) => setTimeout(r, 200));
  t.is(node.clock.pendingSleeps, 0);
  t.deepEqual(published, []);
});
