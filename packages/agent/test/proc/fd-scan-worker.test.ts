import { renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { LockstepError, type TestScope } from "@lockstep/shared";
import { FdScanWorker } from "../../src/proc/fd-scan-worker.js";
import { fakeProcRoot } from "./fake-proc-root.js";

const LOCK_DIR = "/run/lock/lxc";
const LOCK_FILE = `${LOCK_DIR}/pve-config-101.lock`;
const LOCK_LINE = "lock:\t1: FLOCK  ADVISORY  WRITE 7 00:1b:42 0 EOF";
const GENEROUS_MS = 60_000;

/** A fake /proc: pid 7 holds the lock file on fd 3 among files elsewhere; pid 8 has only files elsewhere. */
function busyRoot(t: TestScope) {
  const proc = fakeProcRoot(t);
  proc.process(7, "flock");
  proc.process(8, "sleep");
  for (let fd = 0; fd < 3; fd++) proc.fd(7, fd, "/dev/null");
  proc.fd(7, 3, LOCK_FILE, [LOCK_LINE]);
  proc.fd(7, 4, "socket:[1234]");
  for (let fd = 0; fd < 5; fd++) proc.fd(8, fd, `/var/log/other-${fd}`);
  return proc;
}

/** Waits, turning the event loop, until `condition` holds; fails after `ms`. */
async function until(condition: () => boolean, ms: number): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > ms) throw new Error(`not reached in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test("a scan is answered by one long-lived thread started on first use, with the descriptors in the asked directory and their lock lines", async (t) => {
  const proc = busyRoot(t);
  const scanner = new FdScanWorker(proc.root, GENEROUS_MS);
  t.teardown(() => scanner.close());
  t.is(scanner.threadsStarted, 0);
  const open = await scanner.scan([LOCK_DIR]);
  t.deepEqual(open, [{ pid: 7, fd: "3", target: LOCK_FILE, lockLines: [LOCK_LINE] }]);
  t.deepEqual(await scanner.scan(["/var/log"]).then((fds) => fds.map((f) => `${f.pid}/${f.fd}`)), [
    "8/0",
    "8/1",
    "8/2",
    "8/3",
    "8/4",
  ]);
  t.is(scanner.threadsStarted, 1);
});

test("scans asked at once are each answered with their own directories", async (t) => {
  const proc = busyRoot(t);
  const scanner = new FdScanWorker(proc.root, GENEROUS_MS);
  t.teardown(() => scanner.close());
  const [lock, logs, dev] = await Promise.all([
    scanner.scan([LOCK_DIR]),
    scanner.scan(["/var/log"]),
    scanner.scan(["/dev"]),
  ]);
  t.deepEqual(
    lock.map((f) => f.target),
    [LOCK_FILE],
  );
  t.is(logs.length, 5);
  t.deepEqual(
    dev.map((f) => `${f.pid}/${f.fd}`),
    ["7/0", "7/1", "7/2"],
  );
  t.is(scanner.threadsStarted, 1);
});

test("the fdinfo of a descriptor whose link is outside the asked directories is never read", async (t) => {
  const proc = busyRoot(t);
  // Reading either would block the scan until its timeout.
  proc.blockingFdinfo(8, 2);
  proc.blockingFdinfo(7, 4);
  const scanner = new FdScanWorker(proc.root, GENEROUS_MS);
  t.teardown(() => scanner.close());
  t.deepEqual(await scanner.scan([LOCK_DIR]), [{ pid: 7, fd: "3", target: LOCK_FILE, lockLines: [LOCK_LINE] }]);
});

test("a scan stuck in a read fails after its timeout, and the next scan is answered by a new thread", async (t) => {
  const proc = busyRoot(t);
  const stuck = proc.blockingFdinfo(7, 3);
  const scanner = new FdScanWorker(proc.root, 500);
  t.teardown(() => scanner.close());
  const err = await t.throwsAsync(scanner.scan([LOCK_DIR]), { instanceOf: LockstepError });
  t.is(err?.code, "HYPERVISOR_UNRESPONSIVE");
  t.is(err?.metadata.proc_scan, "timed-out");
  // The abandoned thread is still blocked in its read while the new one answers.
  writeFileSync(path.join(proc.root, "7/fdinfo/3.new"), `${LOCK_LINE}\n`);
  renameSync(path.join(proc.root, "7/fdinfo/3.new"), path.join(proc.root, "7/fdinfo/3"));
  t.true(stuck.reached());
  t.deepEqual(await scanner.scan([LOCK_DIR]), [{ pid: 7, fd: "3", target: LOCK_FILE, lockLines: [LOCK_LINE] }]);
  t.is(scanner.threadsStarted, 2);
});

test("the event loop keeps turning while the thread's scan waits in a read", async (t) => {
  const proc = busyRoot(t);
  const held = proc.blockingFdinfo(7, 3);
  const scanner = new FdScanWorker(proc.root, GENEROUS_MS);
  t.teardown(() => scanner.close());
  let answered = false;
  const scan = scanner.scan([LOCK_DIR]).finally(() => (answered = true));
  await until(() => held.reached(), GENEROUS_MS);
  // The scan is inside its read now, and stays there while timers fire 20 times.
  for (let turn = 0; turn < 20; turn++) await new Promise((r) => setTimeout(r, 5));
  t.false(answered);
  held.release(`${LOCK_LINE}\n`);
  t.deepEqual(await scan, [{ pid: 7, fd: "3", target: LOCK_FILE, lockLines: [LOCK_LINE] }]);
});
