import { spawn, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { scratchDir, type TestScope } from "@lockstep/shared";
import { LockHeldError } from "../../src/errors.js";
import { withConfigFlock } from "../../src/node/config-flock.js";
import { simulatedPaths } from "../../src/node/node-paths.js";

function node(t: TestScope) {
  const root = scratchDir(t, "config-flock");
  mkdirSync(path.join(root, "run/lock/lxc"), { recursive: true });
  return { paths: simulatedPaths(root, "/nonexistent"), lockFile: path.join(root, "run/lock/lxc/pve-config-101.lock") };
}

const lockedByOthers = (file: string): boolean => spawnSync("flock", ["-n", file, "true"]).status !== 0;

test("the config flock is held while the work runs and released after", async (t) => {
  const { paths, lockFile } = node(t);
  const seen = await withConfigFlock(paths, 101, async () => lockedByOthers(lockFile));
  t.true(seen);
  t.false(lockedByOthers(lockFile));
});

test("a config flock that stays busy is LOCK_HELD, and the work never runs", async (t) => {
  const { paths, lockFile } = node(t);
  const holder = spawn("flock", [lockFile, "sleep", "30"], { detached: true, stdio: "ignore" });
  t.teardown(() => process.kill(-holder.pid!, "SIGKILL"));
  for (let i = 0; i < 100 && !lockedByOthers(lockFile); i++) await new Promise((r) => setTimeout(r, 50));
  let ran = false;
  await t.throwsAsync(
    withConfigFlock(paths, 101, async () => (ran = true), 1),
    { instanceOf: LockHeldError, message: /got timeout/ },
  );
  t.false(ran);
});
