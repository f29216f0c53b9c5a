import { spawn } from "node:child_process";

/** What one run of a node tool produced. */
export interface ToolResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

/** The tool is not on the node (ENOENT, or not executable). */
class ToolMissingError extends Error {
  constructor(
    readonly tool: string,
    why: string,
  ) {
    super(`${tool} cannot be run: ${why}`);
    this.name = "ToolMissingError";
  }
}

/** The tool did not end in time and was killed. */
class ToolTimeoutError extends Error {
  constructor(
    readonly tool: string,
    readonly timeoutMs: number,
  ) {
    super(`${tool} gave no answer within ${timeoutMs} ms (killed)`);
    this.name = "ToolTimeoutError";
  }
}

/** Runs a node tool with an argv array, never a shell. */
export type ToolRunner = (argv: readonly string[], timeoutMs: number) => Promise<ToolResult>;

const MAX_OUTPUT = 256 * 1024;

/**
 * Runs tools with `env` (the node's PATH and, on a simulated node, its settings: the same
 * environment `pct` gets) in a process group of their own, killed whole at the timeout: a
 * tool stuck on a hung pmxcfs never outlives the doctor. Output past 256 KiB is dropped.
 */
export function toolRunner(env: Readonly<Record<string, string>>): ToolRunner {
  return (argv, timeoutMs) =>
    new Promise((resolve, reject) => {
      const started = Date.now();
      const [tool, ...args] = argv;
      const child = spawn(tool!, args, { env: { ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
      const out = { stdout: "", stderr: "" };
      child.stdout.on("data", (chunk: Buffer) => (out.stdout = (out.stdout + chunk.toString()).slice(0, MAX_OUTPUT)));
      child.stderr.on("data", (chunk: Buffer) => (out.stderr = (out.stderr + chunk.toString()).slice(0, MAX_OUTPUT)));
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup(child.pid);
      }, timeoutMs);
      child.on("error", (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(
          err.code === "ENOENT" || err.code === "EACCES"
            ? new ToolMissingError(tool!, err.code === "ENOENT" ? "not found" : "not executable")
            : err,
        );
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        if (timedOut) reject(new ToolTimeoutError(tool!, timeoutMs));
        else
          resolve({
            exitCode: code ?? 128 + (signal === "SIGKILL" ? 9 : 15),
            ...out,
            durationMs: Date.now() - started,
          });
      });
    });
}

function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}
