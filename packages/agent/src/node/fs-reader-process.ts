import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import type { Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { boundTimer } from "./within-bound.js";

/** The reader program; the same path from src/ (tests) and dist/ (the daemon). */
const READER_SCRIPT = fileURLToPath(new URL("../../helpers/cluster-fs-reader.cjs", import.meta.url));

/** What the reader can do, each synchronously in its own process. */
export type FsOp = "read" | "readdir" | "lstat" | "write";

/** `lstat` as the reader reports it. */
export interface FsLstat {
  readonly mode: number;
  readonly symlink: boolean;
  readonly directory: boolean;
}

/** A request the reader answered with an errno (ENOENT, EACCES, ...). */
export class FsOpError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "FsOpError";
  }
}

/** The reader did not answer within the request's timeout. */
export class FsOpTimeoutError extends Error {
  constructor(
    readonly op: FsOp,
    readonly file: string,
    readonly timeoutMs: number,
  ) {
    super(`${op} of ${file} did not answer within ${timeoutMs} ms`);
    this.name = "FsOpTimeoutError";
  }
}

/** The reader process is gone (killed, crashed) before it answered. */
export class FsReaderGoneError extends Error {
  constructor(why: string) {
    super(`the cluster filesystem reader is gone: ${why}`);
    this.name = "FsReaderGoneError";
  }
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

interface Reply {
  readonly id?: number;
  readonly ready?: boolean;
  readonly value?: unknown;
  readonly error?: string;
  readonly message?: string;
}

/**
 * One reader process (helpers/cluster-fs-reader.cjs): requests are answered in order, each
 * synchronously in the child, so a read stuck in the kernel blocks that child and nothing of
 * the agent. A request that times out leaves the child as it is; the owner decides whether
 * to `kill` it (a stuck read) or wait for its late answer (a probe).
 */
export class FsReaderProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Requests not settled yet, timed out or not: the reader's output is awaited while any is. */
  private waiting = 0;
  private buffered = "";
  private gone: string | null = null;
  /** Settles when the process has exited (after a kill, once the kernel let it go). */
  readonly exited: Promise<void>;
  /** Resolves once the reader runs; timeouts count from then, never Node's start-up. */
  private readonly ready: Promise<void>;
  private markReady: () => void = () => undefined;
  private failReady: (err: Error) => void = () => undefined;

  constructor() {
    this.ready = new Promise<void>((resolve, reject) => {
      this.markReady = resolve;
      this.failReady = reject;
    });
    // Whoever requests next sees the failure; nobody may be waiting now.
    this.ready.catch(() => undefined);
    // No environment of the agent's, no inherited options: a bare Node reading files.
    this.child = spawn(process.execPath, ["--max-old-space-size=32", READER_SCRIPT], { env: {} });
    this.child.stdout.setEncoding("utf8");
    this.child.stdout.on("data", (chunk: string) => this.receive(chunk));
    this.child.stderr.resume();
    // A write to a child that died is reported through `exit`; the stream error itself adds nothing.
    this.child.stdin.on("error", () => undefined);
    // The reader keeps the agent (or a test) alive only while a request waits for it.
    this.child.unref();
    for (const stream of [this.child.stdin, this.child.stdout, this.child.stderr])
      (stream as unknown as Socket).unref();
    this.exited = new Promise((resolve) => {
      this.child.on("error", (err) => this.fail(err.message));
      this.child.on("exit", (code, signal) => {
        this.fail(`exited ${signal ?? code}`);
        resolve();
      });
    });
  }

  /** Resolves once the reader runs (Node has started it); rejects if it never does. */
  async started(): Promise<void> {
    // The waiting itself keeps the agent alive: at start-up nothing else may (no server yet).
    this.holdOpen(+1);
    try {
      await this.ready;
    } finally {
      this.holdOpen(-1);
    }
  }

  /** Whether every request sent has been answered. */
  get idle(): boolean {
    return this.pending.size === 0;
  }

  /** Whether the process can still take requests. */
  get alive(): boolean {
    return this.gone === null;
  }

  /**
   * Sends one request once the reader runs. Rejects with FsOpTimeoutError after `timeoutMs`
   * (null: no bound; the request stays outstanding in the child either way), FsOpError for
   * an errno, FsReaderGoneError once the child died.
   */
  async request(op: FsOp, file: string, timeoutMs: number | null, text?: string): Promise<unknown> {
    this.holdOpen(+1);
    try {
      return await this.send(op, file, timeoutMs, text);
    } finally {
      this.holdOpen(-1);
    }
  }

  private async send(op: FsOp, file: string, timeoutMs: number | null, text?: string): Promise<unknown> {
    await this.ready;
    if (this.gone !== null) throw new FsReaderGoneError(this.gone);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer =
        timeoutMs === null ? undefined : boundTimer(timeoutMs, () => reject(new FsOpTimeoutError(op, file, timeoutMs)));
      const settle = (fn: () => void): void => {
        clearTimeout(timer);
        fn();
      };
      this.pending.set(id, {
        resolve: (value) => settle(() => resolve(value)),
        reject: (err) => settle(() => reject(err)),
      });
      this.child.stdin.write(`${JSON.stringify({ id, op, path: file, text })}\n`);
    });
  }

  /** Kills the process (SIGKILL ends a wait in FUSE or on a FIFO); outstanding requests fail. */
  kill(): void {
    this.child.kill("SIGKILL");
  }

  private holdOpen(delta: number): void {
    this.waiting += delta;
    const stdout = this.child.stdout as unknown as Socket;
    if (this.waiting > 0) stdout.ref();
    else stdout.unref();
  }

  private receive(chunk: string): void {
    this.buffered += chunk;
    for (let end = this.buffered.indexOf("\n"); end >= 0; end = this.buffered.indexOf("\n")) {
      const reply = JSON.parse(this.buffered.slice(0, end)) as Reply;
      this.buffered = this.buffered.slice(end + 1);
      if (reply.ready) this.markReady();
      const waiting = reply.id === undefined ? undefined : this.pending.get(reply.id);
      if (!waiting) continue;
      this.pending.delete(reply.id!);
      if (reply.error !== undefined) waiting.reject(new FsOpError(reply.error, reply.message ?? reply.error));
      else waiting.resolve(reply.value);
    }
  }

  private fail(why: string): void {
    this.gone ??= why;
    this.failReady(new FsReaderGoneError(why));
    for (const waiting of this.pending.values()) waiting.reject(new FsReaderGoneError(why));
    this.pending.clear();
  }
}
