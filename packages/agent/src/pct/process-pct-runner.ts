import { spawn, type ChildProcess } from "node:child_process";
import { systemClock, type Clock } from "@lockstep/shared";
import { HypervisorUnresponsiveError, OperationRunningError } from "../errors.js";
import { realProcReader, type ProcReader } from "../proc/proc-reader.js";
import { boundTimer } from "../node/within-bound.js";
import { operationSignal } from "./operation-scope.js";
import { pctEnvironment } from "./pct-environment.js";
import type { PctResult, PctRunOptions, PctRunner } from "./pct-runner.js";
import { aliveWorkers, taskWorkersUnder, whenWorkersEnd, type TaskWorker } from "./task-worker.js";

export interface ProcessPctRunnerOptions {
  /** Path of `pct` (real: /usr/sbin/pct; simulated: the simulator's executable). */
  readonly pct: string;
  /** The node's environment for pct beyond PATH, e.g. the simulator's root (nothing of the agent's own). */
  readonly env?: Readonly<Record<string, string>>;
  /** Timeout of a call that names none. */
  readonly defaultTimeoutMs: number;
  /** Output kept per stream when the call names no bound. */
  readonly defaultMaxOutputBytes?: number;
  /** How long a `pct` sent SIGTERM gets to stop its task worker and exit before SIGKILL. */
  readonly terminateGraceMs?: number;
  /** Where task workers are looked up (default /proc). */
  readonly proc?: ProcReader;
  readonly clock?: Clock;
  /** How often a task worker that outlived its `pct` is checked for its end. */
  readonly workerPollMs?: number;
}

const DEFAULT_MAX_OUTPUT = 4 * 1024 * 1024;
// pct's own tee_worker forwards TERM to the worker and waits for its pipe to close, then
// kill_process_group gives the worker 5 s more (pve-common RESTEnvironment.pm): a little over that.
const DEFAULT_TERMINATE_GRACE_MS = 7_000;
const DEFAULT_WORKER_POLL_MS = 500;

/** Why a running call is being stopped. */
type StopReason = { kind: "timeout"; timeoutMs: number } | { kind: "abort"; reason: unknown };

/**
 * Runs `pct` as a child process with an argv array (never a shell) and a timeout on every
 * call. Real `pct` has no timeout of its own and can block forever on a hung cluster
 * filesystem. A call past its deadline, or whose operation is cancelled (the agent stopping),
 * is stopped the way Proxmox's own CLI stops a task: SIGTERM to `pct`, which forwards TERM to
 * its task worker (tee_worker), whose error path cleans up (a create removes its disks and
 * config); after a bounded grace, SIGKILL to pct's process group. A task worker has its own
 * session (fork_worker calls setsid), so neither signal to the group reaches it: if one lives
 * on (blocked in the kernel, say), the call is reported as still running (OPERATION_RUNNING,
 * with its UPID and a promise of its end), never as failed. Otherwise a timeout is
 * HYPERVISOR_UNRESPONSIVE (outcome unknown) and a cancellation rejects with its reason.
 * `stopAll` stops every call still running the same way, when the agent itself stops.
 */
export class ProcessPctRunner implements PctRunner {
  private readonly proc: ProcReader;
  private readonly clock: Clock;
  /** The calls running now: how `stopAll` reaches each, and what it waits for. */
  private readonly running = new Map<(why: StopReason) => void, Promise<unknown>>();

  constructor(private readonly options: ProcessPctRunnerOptions) {
    this.proc = options.proc ?? realProcReader();
    this.clock = options.clock ?? systemClock;
  }

  run(args: readonly string[], options: PctRunOptions = {}): Promise<PctResult> {
    const timeoutMs = options.timeoutMs ?? this.options.defaultTimeoutMs;
    const maxBytes = options.maxOutputBytes ?? this.options.defaultMaxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    const signal = combined(options.signal, operationSignal());
    if (signal?.aborted) return Promise.reject(signal.reason);
    const started = Date.now();
    let stopCall: (why: StopReason) => void = () => undefined;
    const call = new Promise<PctResult>((resolve, reject) => {
      const child = spawn(this.options.pct, args, {
        env: pctEnvironment(this.options.env ?? {}),
        stdio: ["pipe", "pipe", "pipe"],
        detached: true,
      });
      const stdout = new BoundedBuffer(maxBytes);
      const stderr = new BoundedBuffer(maxBytes);
      child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
      child.stdin.on("error", () => undefined);
      child.stdin.end(options.stdin ?? Buffer.alloc(0));
      const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
        child.on("close", (code, sig) => done({ code, signal: sig })),
      );
      // pct's own exit, which 'close' can trail by far: a child left holding its pipes delays that.
      const exited = new Promise<void>((done) => child.on("exit", () => done()));

      let stopping = false;
      const cleanup = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      const stop = (why: StopReason): void => {
        if (stopping) return;
        stopping = true;
        cleanup();
        this.stop(child, exited).then(
          (survivors) => reject(this.stoppedError(args, why, survivors, stderr.text())),
          reject,
        );
      };
      // Judged after the I/O already waiting: an agent that stood still past the timeout (starved
      // of CPU, frozen) must read a pct that finished meanwhile as finished (fault seed 17).
      const timer = boundTimer(timeoutMs, () => stop({ kind: "timeout", timeoutMs }));
      const onAbort = (): void => stop({ kind: "abort", reason: signal?.reason ?? new Error("aborted") });
      signal?.addEventListener("abort", onAbort, { once: true });
      stopCall = stop;

      child.on("error", (err) => {
        if (stopping) return;
        stopping = true;
        cleanup();
        reject(new HypervisorUnresponsiveError(`cannot run ${this.options.pct}: ${err.message}`));
      });
      void closed.then(({ code, signal: killedBy }) => {
        if (stopping) return;
        stopping = true;
        cleanup();
        if (killedBy) {
          // Killed from outside (OOM killer, an operator): like a timeout, its outcome is unknown.
          reject(
            new HypervisorUnresponsiveError(`pct ${args[0] ?? ""} was killed by ${killedBy}; its outcome is unknown`, {
              command: args[0] ?? "",
              signal: killedBy,
            }),
          );
          return;
        }
        resolve({
          exitCode: code ?? 255,
          stdout: stdout.text(),
          stderr: stderr.text(),
          durationMs: Date.now() - started,
          stdoutTruncated: stdout.truncated,
          stderrTruncated: stderr.truncated,
        });
      });
    });
    const settled = call.then(
      () => undefined,
      () => undefined,
    );
    this.running.set(stopCall, settled);
    void settled.then(() => this.running.delete(stopCall));
    return call;
  }

  /**
   * Stops every call still running (reads and probes: the operations were stopped through
   * their signal) and resolves once each has ended, so that no `pct` outlives the agent: the
   * unit's KillMode=process leaves them to the agent. Each call rejects with `reason`.
   */
  async stopAll(reason: unknown): Promise<void> {
    const calls = [...this.running];
    for (const [stop] of calls) stop({ kind: "abort", reason });
    await Promise.all(calls.map(([, settled]) => settled));
  }

  /**
   * Stops a running `pct` as described above and returns the task workers it started that
   * still run. They are looked up BEFORE any signal, while `pct` lives and is their parent.
   */
  private async stop(child: ChildProcess, exited: Promise<void>): Promise<TaskWorker[]> {
    const workers = child.pid ? await taskWorkersUnder(this.proc, child.pid) : [];
    signalQuietly(child.pid, "SIGTERM");
    const graceMs = this.options.terminateGraceMs ?? DEFAULT_TERMINATE_GRACE_MS;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise<void>((done) => (timer = setTimeout(done, graceMs)))]);
    clearTimeout(timer);
    // Whatever is left in pct's own group (pct itself, helpers it ran in-process).
    if (child.pid) signalQuietly(-child.pid, "SIGKILL");
    return aliveWorkers(this.proc, workers);
  }

  private stoppedError(
    args: readonly string[],
    why: StopReason,
    survivors: readonly TaskWorker[],
    stderr: string,
  ): unknown {
    const command = args[0] ?? "";
    if (survivors.length > 0) {
      const upid = survivors[0]!.upid;
      const ended = whenWorkersEnd(
        this.proc,
        survivors,
        this.clock,
        this.options.workerPollMs ?? DEFAULT_WORKER_POLL_MS,
      );
      const cause = why.kind === "timeout" ? `did not finish within ${why.timeoutMs} ms` : "was cancelled";
      return new OperationRunningError(
        `pct ${command} ${cause}, but its Proxmox task ${upid} is still running; retry once it ends`,
        upid,
        ended,
        { command },
      );
    }
    if (why.kind === "abort") return why.reason;
    return new HypervisorUnresponsiveError(
      `pct ${command} did not finish within ${why.timeoutMs} ms and was stopped; its outcome is unknown`,
      {
        command,
        timeout_ms: String(why.timeoutMs),
        stderr: stderr.slice(-500),
      },
    );
  }
}

/** The call's own signal and its operation's, as one. */
function combined(a: AbortSignal | undefined, b: AbortSignal | undefined): AbortSignal | undefined {
  if (!a || !b || a === b) return a ?? b;
  return AbortSignal.any([a, b]);
}

/** Sends a signal to a pid or (negative) a process group that may be gone already. */
function signalQuietly(pid: number | undefined, sig: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone: nothing to stop.
  }
}

/** Keeps at most `limit` bytes of a stream and remembers whether it dropped any. */
class BoundedBuffer {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    const room = this.limit - this.size;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (kept !== chunk) this.truncated = true;
    this.chunks.push(kept);
    this.size += kept.length;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}
