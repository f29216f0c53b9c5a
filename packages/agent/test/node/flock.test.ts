import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import test from "ava";
import { LockstepError, scratchDir, type TestScope } from "@lockstep/shared";
import { HeldFlock } from "../../src/node/flock.js";

const lockFile = (t: TestScope): string => path.join(scratchDir(t, "flock"), "test.lock");

const lockedByOthers = (file: string): boolean => spawnSync("flock", ["-n", file, "true"]).status !== 0;

/** util-linux flock holding `file` until the test ends. */
async function holdElsewhere(t: { teardown(fn: () => void): void }, file: string, seconds = 30): Promise<void> {
  const holder = spawn("flock", [file, "sleep", String(seconds)], { detached: true, stdio: "ignore" });
  t.teardown(() => {
    try {
      process.kill(-holder.pid!, "SIGKILL");
    } catch {
      // Its sleep ended on its own.
    }
  });
  for (const end = Date.now() + 5_000; !lockedByOthers(file);) {
    if (Date.now() > end) throw new Error(`${file} was never locked`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("a flock taken on a file is this process's until it is released", async (t) => {
  const file = lockFile(t);
  const lock = await HeldFlock.acquire(file, { waitS: 0, mode: 0o644 });
  t.truthy(lock);
  t.true(lockedByOthers(file));
  await lock!.release();
  t.false(lockedByOthers(file));
});

test("trying a lock another process holds answers null at once", async (t) => {
  const file = lockFile(t);
  await holdElsewhere(t, file);
  const started = Date.now();
  t.is(await HeldFlock.acquire(file, { waitS: 0, mode: 0o644 }), null);
  t.true(Date.now() - started < 2_000);
});

test("waiting for a lock takes it as soon as its holder lets go, within the wait", async (t) => {
  const file = lockFile(t);
  await holdElsewhere(t, file, 1);
  const lock = await HeldFlock.acquire(file, { waitS: 10, mode: 0o644 });
  t.truthy(lock);
  await lock!.release();
});

test("the event loop keeps running while a flock waits", async (t) => {
  const file = lockFile(t);
  await holdElsewhere(t, file);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 50);
  t.teardown(() => clearInterval(timer));
  t.is(await HeldFlock.acquire(file, { waitS: 1, mode: 0o644 }), null);
  t.true(ticks >= 10, `the loop ticked ${ticks} times during a 1 s wait`);
});

test("a flock executable that fails for another reason is an INTERNAL error, not a busy lock", async (t) => {
  const err = await t.throwsAsync(
    HeldFlock.acquire(lockFile(t), { waitS: 0, mode: 0o644, flockBin: "/nonexistent/flock" }),
    { instanceOf: LockstepError },
  );
  t.is(err?.code, "INTERNAL");
});

test("the holder can write into the lock file while it holds it", async (t) => {
  const file = lockFile(t);
  const lock = (await HeldFlock.acquire(file, { waitS: 0, mode: 0o600 }))!;
  await lock.replaceContent("first line that is long\n");
  await lock.replaceContent("4242\n");
  await lock.release();
  const { readFileSync } = await import("node:fs");
  t.is(readFileSync(file, "utf8"), "4242\n");
});
