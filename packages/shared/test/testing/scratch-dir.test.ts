import { existsSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { scratchDir, SuiteScope } from "../../src/index.js";

/** A test's scope whose outcome the test sets, and whose teardowns it runs. */
function scope(passed: boolean) {
  const teardowns: (() => unknown)[] = [];
  const logs: string[] = [];
  return {
    passed,
    logs,
    teardown: (fn: () => unknown) => void teardowns.push(fn),
    log: (...values: unknown[]) => void logs.push(values.join(" ")),
    end: async () => {
      for (const fn of teardowns.reverse()) await fn();
    },
  };
}

test("a passed test's directory is removed with everything in it", async (t) => {
  const passed = scope(true);
  const dir = scratchDir(passed, "scratch-test");
  writeFileSync(path.join(dir, "evidence"), "x");
  await passed.end();
  t.false(existsSync(dir));
});

test("a failed test's directory is kept and named in its output", async (t) => {
  const failed = scope(false);
  const dir = scratchDir(failed, "scratch-test");
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await failed.end();
  t.true(existsSync(dir));
  t.deepEqual(failed.logs, [`kept for the failure: ${dir}`]);
});

test("a suite's directories go once its tests passed, and stay when one failed", async (t) => {
  const clean = new SuiteScope();
  const gone = scratchDir(clean, "scratch-suite");
  clean.noteResult({ passed: true });
  await clean.close();
  t.false(existsSync(gone));
  const failing = new SuiteScope();
  const kept = scratchDir(failing, "scratch-suite");
  t.teardown(() => rmSync(kept, { recursive: true, force: true }));
  failing.noteResult({ passed: false });
  await failing.close();
  t.true(existsSync(kept));
});
