// Real processes: a Perl stand-in for `pct` that forks its task worker the way Proxmox does
// (pve-common src/PVE/RESTEnvironment.pm fork_worker: setsid, `$0 = "task $upid"`, output
// through a pipe; tee_worker: TERM/INT to pct are forwarded to the worker's process group).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import test from "ava";
import { scratchDir, silentLogger } from "@lockstep/shared";
import { HypervisorUnresponsiveError, OperationRunningError } from "../../src/errors.js";
import { withOperation } from "../../src/pct/operation-scope.js";
import { ProcessPctRunner } from "../../src/pct/process-pct-runner.js";
import { isWorkerAlive, parseUpid } from "../../src/pct/task-worker.js";
import { realProcReader } from "../../src/proc/proc-reader.js";

const FAKE = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "fake-task-pct.pl");
const proc = realProcReader();

/** An operation for `signal`, as the gRPC adapter makes one for each mutating request. */
function operation(signal: AbortSignal) {
  return { requestId: "req-1", signal, logger: silentLogger() };
}

function runner(graceMs = 3_000): ProcessPctRunner {
  return new ProcessPctRunner({ pct: FAKE, defaultTimeoutMs: 10_000, terminateGraceMs: graceMs, workerPollMs: 50 });
}

/** The worker's own record of itself: pid and UPID. */
function workerOf(dir: string): { pid: number; upid: string } {
  const [pid, upid] = readFileSync(path.join(dir, "worker"), "utf8").trim().split(" ");
  return { pid: Number(pid), upid: upid! };
}

/** Whether someone holds a flock on the file (util-linux flock, non-blocking). */
function flockHeld(file: string): boolean {
  return spawnSync("flock", ["-n", file, "true"]).status !== 0;
}

async function waitFor(what: () => boolean, boundMs: number): Promise<boolean> {
  const until = Date.now() + boundMs;
  while (Date.now() < until) {
    if (what()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return what();
}

test("a call that finishes in time resolves with the worker's output", async (t) => {
  const dir = scratchDir(t, "task-pct");
  const result = await runner().run(["finish", dir, "200"]);
  t.is(result.exitCode, 0);
  t.regex(result.stdout, /TASK OK/);
});

test("on timeout SIGTERM reaches the task worker through pct, whose error path runs, and the call is unresponsive", async (t) => {
  const dir = scratchDir(t, "task-pct");
  const err = await t.throwsAsync(runner().run(["finish", dir, "20000"], { timeoutMs: 500 }), {
    instanceOf: HypervisorUnresponsiveError,
  });
  t.regex(err?.message ?? "", /outcome is unknown/);
  // fork_worker's handler: die "received interrupt", then the command's own cleanup.
  t.is(readFileSync(path.join(dir, "cleaned"), "utf8"), "received interrupt\n");
  t.false(existsSync(path.join(dir, "finished")));
  t.false(await isWorkerAlive(proc, { pid: workerOf(dir).pid, pstart: parseUpid(workerOf(dir).upid)!.pstart }));
});

test("a task worker that outlives its killed pct makes the call OPERATION_RUNNING with its UPID, holding its flock until it ends", async (t) => {
  const dir = scratchDir(t, "task-pct");
  const started = Date.now();
  const err = await t.throwsAsync(runner(300).run(["blocked", dir, "2500"], { timeoutMs: 400 }), {
    instanceOf: OperationRunningError,
  });
  t.true(Date.now() - started < 2_000, "reported before the worker ended");
  t.is(err?.code, "OPERATION_RUNNING");
  t.is(err?.upid, workerOf(dir).upid);
  t.is(err?.metadata.upid, workerOf(dir).upid);
  t.true(flockHeld(path.join(dir, "lock")), "the worker still holds the config flock after pct was killed");
  t.false(existsSync(path.join(dir, "finished")));
  await err!.ended;
  t.true(existsSync(path.join(dir, "finished")), "`ended` settles only once the worker has finished");
  t.false(flockHeld(path.join(dir, "lock")));
});

test("a task worker left without its pct dies at its next write, and `ended` settles", async (t) => {
  const dir = scratchDir(t, "task-pct");
  const err = await t.throwsAsync(runner(300).run(["late-write", dir], { timeoutMs: 400 }), {
    instanceOf: OperationRunningError,
  });
  writeFileSync(path.join(dir, "go"), ""); // pct was killed before the call was answered
  await err!.ended;
  // SIGPIPE at the write: it never got to record that it finished, and cleaned nothing up.
  t.false(existsSync(path.join(dir, "finished")));
  t.false(existsSync(path.join(dir, "cleaned")));
});

test("cancelling the operation (an agent stop) stops pct and its worker through SIGTERM and rejects with the reason", async (t) => {
  const dir = scratchDir(t, "task-pct");
  const controller = new AbortController();
  const running = withOperation(operation(controller.signal), () => runner().run(["finish", dir, "20000"]));
  t.true(await waitFor(() => existsSync(path.join(dir, "worker")), 5_000));
  const reason = new Error("agent stopping");
  controller.abort(reason);
  const err = await t.throwsAsync(running);
  t.is(err, reason);
  t.is(readFileSync(path.join(dir, "cleaned"), "utf8"), "received interrupt\n");
});

test("a pct that ignores SIGTERM is killed with its process group after the grace", async (t) => {
  const dir = scratchDir(t, "task-pct");
  const started = Date.now();
  await t.throwsAsync(runner(300).run(["stubborn-pct", dir, "20000"], { timeoutMs: 300 }), {
    instanceOf: HypervisorUnresponsiveError,
  });
  t.true(Date.now() - started < 3_000);
});

test("an operation already cancelled never starts pct", async (t) => {
  const dir = scratchDir(t, "task-pct");
  const controller = new AbortController();
  controller.abort(new Error("stopped"));
  await t.throwsAsync(
    withOperation(operation(controller.signal), () => runner().run(["finish", dir, "100"])),
    { message: "stopped" },
  );
  t.false(existsSync(path.join(dir, "worker")));
});
