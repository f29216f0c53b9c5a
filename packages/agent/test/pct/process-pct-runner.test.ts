import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import test from "ava";
import { HypervisorUnresponsiveError } from "../../src/errors.js";
import { ProcessPctRunner } from "../../src/pct/process-pct-runner.js";
import { freezeUntil } from "../node/freeze-until.js";

// A stand-in `pct` whose behaviour each test picks through its arguments.
function fakePct(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "fake-pct-"));
  const file = path.join(dir, "pct");
  writeFileSync(
    file,
    `#!/bin/sh
case "$1" in
  hang) sleep 30 ;;
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
  const runner = new ProcessPctRunner({ pct: fakePct(), defaultTimeoutMs: 5_000 });
  const tricky = ["args", "a b", "$(touch /tmp/pwned)", "; rm -rf /", "'\"`"];
  const result = await runner.run(tricky);
  t.is(result.exitCode, 0);
  t.deepEqual(result.stdout.trimEnd().split("\n"), tricky);
});

test("a non-zero exit resolves with its status and stderr", async (t) => {
  const runner = new ProcessPctRunner({ pct: fakePct(), defaultTimeoutMs: 5_000 });
  const result = await runner.run(["fail"]);
  t.is(result.exitCode, 255);
  t.is(result.stderr.trim(), "CT is locked (create)");
});

test("a pct that finished while the agent stood still past its timeout is its answer, not a timeout", async (t) => {
  // Fault seed 17 (session 4): an agent starved at load 60 woke with the timeout due and pct's
  // exit unread, and reported a create that had succeeded as an unresponsive hypervisor.
  const runner = new ProcessPctRunner({ pct: fakePct(), defaultTimeoutMs: 5_000 });
  const dir = mkdtempSync(path.join(os.tmpdir(), "pct-done-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const marker = path.join(dir, "done");
  const call = runner.run(["mark", marker], { timeoutMs: 200 });
  freezeUntil(marker, 500);
  const result = await call;
  t.is(result.exitCode, 0);
  t.is(result.stdout, "done");
});

test("a call past its timeout is killed and reported as an unresponsive hypervisor", async (t) => {
  const runner = new ProcessPctRunner({ pct: fakePct(), defaultTimeoutMs: 5_000 });
  const started = Date.now();
  const err = await t.throwsAsync(runner.run(["hang"], { timeoutMs: 300 }), {
    instanceOf: HypervisorUnresponsiveError,
  });
  t.is(err?.code, "HYPERVISOR_UNRESPONSIVE");
  t.regex(err?.message ?? "", /outcome is unknown/);
  t.true(Date.now() - started < 3_000);
});

test("output beyond the bound is dropped and marked", async (t) => {
  const runner = new ProcessPctRunner({ pct: fakePct(), defaultTimeoutMs: 5_000 });
  const result = await runner.run(["big"], { maxOutputBytes: 1_000 });
  t.is(result.stdout.length, 1_000);
  t.true(result.stdoutTruncated);
});

test("the configured environment reaches pct", async (t) => {
  const runner = new ProcessPctRunner({
    pct: fakePct(),
    defaultTimeoutMs: 5_000,
    env: { LOCKSTEP_SIM_ROOT: "/srv/sim" },
  });
  t.is((await runner.run(["env"])).stdout, "/srv/sim");
});

test("pct runs with Proxmox's PATH and the node's settings, never the agent's own environment", async (t) => {
  process.env.LOCKSTEP_AGENT_TLS_KEY = "/etc/lockstep/agent.key";
  t.teardown(() => delete process.env.LOCKSTEP_AGENT_TLS_KEY);
  const runner = new ProcessPctRunner({
    pct: fakePct(),
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
