import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { scratchDir, type TestScope } from "@lockstep/shared";
import { HypervisorUnresponsiveError } from "../../src/errors.js";
import { ProcessPctRunner } from "../../src/pct/process-pct-runner.js";
import { freezeUntil } from "../node/freeze-until.js";

/** Polls `probe` until it returns a value, for at most 5 s. */
async function eventually<T>(probe: () => T | undefined): Promise<T> {
  for (let waited = 0; waited < 5_000; waited += 20) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("not reached within 5 s");
}

/** Whether any process of the group `pgid` is alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

// A stand-in `pct` whose behaviour each test picks through its arguments.
function fakePct(t: TestScope): string {
  const dir = scratchDir(t, "fake-pct");
  const file = path.join(dir, "pct");
  writeFileSync(
    file,
    `#!/bin/sh
case "$1" in
  hang) sleep 30 ;;
  pid) echo $$ >"$2.tmp"; mv "$2.tmp" "$2"; sleep 30 ;;
  fail) echo "CT is locked (create)" >&2; exit 255 ;;
  args) printf '%s\\n' "$@" ;;
  big) head -c 100000 /dev/zero | tr '\\0' x ;;
  env) printf '%s' "$LOCKSTEP_SIM_ROOT" ;;
  mark) printf 'done'; : >"$2" ;;
  environment) env ;;
esac
`,
    { mode: 0o755 },
  );
  return file;
}

test("arguments reach pct as an argv array, untouched by any shell", async (t) => {
  const runner = new ProcessPctRunner({ pct: fakePct(t), defaultTimeoutMs: 5_000 });
  const tricky = ["args", "a b", "$(touch /tmp/pwned)", "; rm -rf /", "'\"`"];
  const result = await runner.run(tricky);
  t.is(result.exitCode, 0);
  t.deepEqual(result.stdout.trimEnd().split("\n"), tricky);
});

test("a non-zero exit resolves with its status and stderr", async (t) => {
  const runner = new ProcessPctRunner({ pct: fakePct(t), defaultTimeoutMs: 5_000 });
  const result = await runner.run(["fail"]);
  t.is(result.exitCode, 255);
  t.is(result.stderr.trim(), "CT is locked (create)");
});

test("a pct that finished while the agent stood still past its timeout is its answer, not a timeout", async (t) => {
  // Fault seed 17 (session 4): an agent starved at load 60 woke with the timeout due and pct's
  // exit unread, and reported a create that had succeeded as an unresponsive hypervisor.
  const runner = new ProcessPctRunner({ pct: fakePct(t), defaultTimeoutMs: 5_000 });
  const dir = scratchDir(t, "pct-done");
  const marker = path.join(dir, "done");
  const call = runner.run(["mark", marker], { timeoutMs: 200 });
  freezeUntil(marker, 500);
  const result = await call;
  t.is(result.exitCode, 0);
  t.is(result.stdout, "done");
});

test("a call past its timeout is killed and reported as an unresponsive hypervisor", async (t) => {
  const runner = new ProcessPctRunner({ pct: fakePct(t), defaultTimeoutMs: 5_000 });
  const started = Date.now();
  const err = await t.throwsAsync(runner.run(["hang"], { timeoutMs: 300 }), {
    instanceOf: HypervisorUnresponsiveError,
  });
  t.is(err?.code, "HYPERVISOR_UNRESPONSIVE");
  t.regex(err?.message ?? "", /outcome is unknown/);
  t.true(Date.now() - started < 3_000);
});

test("stopAll stops the calls still running, which reject with its reason, and leaves none of their processes", async (t) => {
  const runner = new ProcessPctRunner({ pct: fakePct(t), defaultTimeoutMs: 60_000, terminateGraceMs: 500 });
  const pidFile = path.join(scratchDir(t, "pct-pid"), "pid");
  const call = runner.run(["pid", pidFile]);
  const pid = await eventually(() => (existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8")) : undefined));
  const reason = new Error("the agent is stopping");
  await runner.stopAll(reason);
  t.is(await t.throwsAsync(call), reason);
  // pct's whole process group (the shell and its `sleep`) is gone, not only pct.
  t.true(await eventually(() => !groupAlive(pid) || undefined));
});

test("output beyond the bound is dropped and marked", async (t) => {
  const runner = new ProcessPctRunner({ pct: fakePct(t), defaultTimeoutMs: 5_000 });
  const result = await runner.run(["big"], { maxOutputBytes: 1_000 });
  t.is(result.stdout.length, 1_000);
  t.true(result.stdoutTruncated);
});

test("the configured environment reaches pct", async (t) => {
  const runner = new ProcessPctRunner({
    pct: fakePct(t),
    defaultTimeoutMs: 5_000,
    env: { LOCKSTEP_SIM_ROOT: "/srv/sim" },
  });
  t.is((await runner.run(["env"])).stdout, "/srv/sim");
});

test("pct runs with Proxmox's PATH and the node's settings, never the agent's own environment", async (t) => {
  process.env.LOCKSTEP_AGENT_TLS_KEY = "/etc/lockstep/agent.key";
  t.teardown(() => delete process.env.LOCKSTEP_AGENT_TLS_KEY);
  const runner = new ProcessPctRunner({
    pct: fakePct(t),
    defaultTimeoutMs: 5_000,
    env: { LOCKSTEP_SIM_ROOT: "/srv/sim" },
  });
  const seen = new Map(
    (await runner.run(["environment"])).stdout
      .trim()
      .split("\n")
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)] as const),
  );
  t.is(seen.get("PATH"), "/sbin:/bin:/usr/sbin:/usr/bin");
  t.is(seen.get("LOCKSTEP_SIM_ROOT"), "/srv/sim");
  t.false(seen.has("LOCKSTEP_AGENT_TLS_KEY"));
  // What a shell adds of its own is all there is besides.
  t.deepEqual(
    [...seen.keys()].filter((key) => !["PATH", "LOCKSTEP_SIM_ROOT", "PWD", "SHLVL", "_", "OLDPWD"].includes(key)),
    [],
  );
});

test("a missing pct is an unresponsive hypervisor, not a crash", async (t) => {
  const runner = new ProcessPctRunner({ pct: "/nonexistent/pct", defaultTimeoutMs: 5_000 });
  await t.throwsAsync(runner.run(["list"]), { instanceOf: HypervisorUnresponsiveError });
});
