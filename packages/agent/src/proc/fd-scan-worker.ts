import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { HypervisorUnresponsiveError, UnavailableError } from "../errors.js";

/** The thread's program; the same path from src/ (tests) and dist/ (the daemon). */
const THREAD_SCRIPT = fileURLToPath(new URL("../../helpers/fd-scan-thread.cjs", import.meta.url));

/** An open descriptor of a process: where it points, and its fdinfo's `lock:` lines. */
export interface OpenFd {
  readonly pid: number;
  readonly fd: string;
  readonly target: string;
  readonly lockLines: readonly string[];
}

interface Request {
  readonly id: number;
  readonly dirs: readonly string[];
  readonly resolve: (open: OpenFd[]) => void;
  readonly reject: (err: Error) => void;
}

type Reply = { readonly id: number; readonly open: OpenFd[] } | { readonly id: number; readonly error: string };

/**
 * One long-lived worker thread that scans /proc's fd links with synchronous calls, so the
 * event loop never waits on them. Started on first use; scans are sent one at a time and
 * answered in order. A scan that takes longer than `timeoutMs` fails, and its thread is
 * terminated and replaced: /proc reads do not call file systems, but a thread blocked in one
 * would otherwise stall every later scan. (A thread blocked in a system call ends only when
 * the call returns; until then it is abandoned, not reused.)
 */
export class FdScanWorker {
  private worker: Worker | null = null;
  private readonly queue: Request[] = [];
  private timer: NodeJS.Timeout | null = null;
  private nextId = 1;
  private startedCount = 0;

  constructor(
    private readonly root: string,
    private readonly timeoutMs: number,
  ) {}

  /** How many threads this has started: one, unless a scan timed out or a thread died. */
  get threadsStarted(): number {
    return this.startedCount;
  }

  /** Every process's descriptors whose link is a file directly in one of `dirs`. */
  scan(dirs: readonly string[]): Promise<OpenFd[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, dirs, resolve, reject });
      if (this.queue.length === 1) this.send();
    });
  }

  /** Stops the thread, without waiting for it (see `fail`); scans still queued fail. */
  close(): void {
    const worker = this.worker;
    this.drop();
    void worker?.terminate();
    for (const request of this.queue.splice(0)) request.reject(new UnavailableError("the /proc scan was stopped"));
  }

  private send(): void {
    const head = this.queue[0];
    if (!head) return;
    const worker = this.worker ?? this.start();
    worker.ref();
    this.timer = setTimeout(
      () =>
        this.fail(
          new HypervisorUnresponsiveError(
            `the /proc scan did not finish in ${this.timeoutMs} ms; its thread is replaced`,
            { proc_scan: "timed-out" },
          ),
        ),
      this.timeoutMs,
    );
    worker.postMessage({ id: head.id, dirs: head.dirs });
  }

  private start(): Worker {
    const worker = new Worker(THREAD_SCRIPT, { workerData: { root: this.root }, execArgv: [] });
    this.startedCount++;
    worker.on("message", (reply: Reply) => {
      if (worker === this.worker && reply.id === this.queue[0]?.id) this.answer(reply);
    });
    worker.on("error", (err) => {
      if (worker === this.worker)
        this.fail(
          new HypervisorUnresponsiveError(`the /proc scan's thread failed: ${err.message}`, { proc_scan: "failed" }),
        );
    });
    worker.on("exit", (code) => {
      if (worker === this.worker)
        this.fail(
          new HypervisorUnresponsiveError(`the /proc scan's thread exited with code ${code}`, { proc_scan: "failed" }),
        );
    });
    this.worker = worker;
    return worker;
  }

  private answer(reply: Reply): void {
    this.clearTimer();
    const head = this.queue.shift()!;
    if ("error" in reply)
      head.reject(new HypervisorUnresponsiveError(`the /proc scan failed: ${reply.error}`, { proc_scan: "failed" }));
    else head.resolve(reply.open);
    this.next();
  }

  // The thread may be blocked in a system call: it is let go, not waited for. Node joins every
  // thread when the process exits, so one blocked for good would hold the agent's exit too
  // (until systemd's stop timeout kills it); /proc reads do not call file systems, so the
  // timeout is a bound, not an expected path.
  private fail(err: Error): void {
    const worker = this.worker;
    this.drop();
    void worker?.terminate();
    this.queue.shift()?.reject(err);
    this.next();
  }

  private next(): void {
    if (this.queue.length > 0) this.send();
    else this.worker?.unref();
  }

  private drop(): void {
    this.clearTimer();
    this.worker?.unref();
    this.worker = null;
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
