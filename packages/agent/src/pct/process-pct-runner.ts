import { spawn } from "node:child_process";
import { HypervisorUnresponsiveError } from "../errors.js";
import type { PctResult, PctRunOptions, PctRunner } from "./pct-runner.js";

export interface ProcessPctRunnerOptions {
  /** Path of `pct` (real: /usr/sbin/pct; simulated: the simulator's executable). */
  readonly pct: string;
  /** Extra environment, e.g. the simulator's root. */
  readonly env?: Readonly<Record<string, string>>;
  /** Timeout of a call that names none. */
  readonly defaultTimeoutMs: number;
  /** Output kept per stream when the call names no bound. */
  readonly defaultMaxOutputBytes?: number;
}

const DEFAULT_MAX_OUTPUT = 4 * 1024 * 1024;

/**
 * Runs `pct` as a child process with an argv array (never a shell) and a timeout on every
 * call. Real `pct` has no timeout of its own and can block forever on a hung cluster
 * filesystem, so a call past its deadline is killed (its whole process group, since task
 * workers fork) and reported as HYPERVISOR_UNRESPONSIVE: its outcome is unknown.
 */
export class ProcessPctRunner implements PctRunner {
  constructor(private readonly options: ProcessPctRunnerOptions) {}

  run(args: readonly string[], options: PctRunOptions = {}): Promise<PctResult> {
    const timeoutMs = options.timeoutMs ?? this.options.defaultTimeoutMs;
    const maxBytes = options.maxOutputBytes ?? this.options.defaultMaxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const child = spawn(this.options.pct, args, {
        env: { ...process.env, ...this.options.env },
        stdio: ["pipe", "pipe", "pipe"],
        detached: true,
      });
      const stdout = new BoundedBuffer(maxBytes);
      const stderr = new BoundedBuffer(maxBytes);
      child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
      child.stdin.on("error", () => undefined);
      child.stdin.end(options.stdin ?? Buffer.alloc(0));

      let settled = false;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        fn();
      };
      const kill = (): void => {
        try {
          if (child.pid) process.kill(-child.pid, "SIGKILL");
        } catch {
          child.kill("SIGKILL");
        }
      };
      const timer = setTimeout(() => {
        kill();
        finish(() =>
          reject(
            new HypervisorUnresponsiveError(`pct ${args[0] ?? ""} did not finish within ${timeoutMs} ms; its outcome is unknown`, {
              command: args[0] ?? "",
              timeout_ms: String(timeoutMs),
              stderr: stderr.text().slice(-500),
            }),
          ),
        );
      }, timeoutMs);
      const onAbort = (): void => {
        kill();
        finish(() => reject(options.signal?.reason ?? new Error("aborted")));
      };
      options.signal?.addEventListener("abort", onAbort, { once: true });

      child.on("error", (err) => finish(() => reject(new HypervisorUnresponsiveError(`cannot run ${this.options.pct}: ${err.message}`))));
      child.on("close", (code, signal) =>
        finish(() =>
          signal
            ? // Killed from outside (OOM killer, an operator): like a timeout, its outcome is unknown.
              reject(new HypervisorUnresponsiveError(`pct ${args[0] ?? ""} was killed by ${signal}; its outcome is unknown`, { command: args[0] ?? "", signal }))
            : resolve({
            exitCode: code ?? 255,
            stdout: stdout.text(),
            stderr: stderr.text(),
            durationMs: Date.now() - started,
            stdoutTruncated: stdout.truncated,
            stderrTruncated: stderr.truncated,
          }),
        ),
      );
    });
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
