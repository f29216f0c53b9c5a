import { execFile } from "node:child_process";
import { PackagingError } from "./packaging-error.js";

/** How one tool is run: where, with what environment, and for how long at most. */
export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Killed after this long (default 5 minutes: compressing a runtime takes a while on a busy machine). */
  readonly timeoutMs?: number;
}

/** Runs a tool with an argv array (never a shell) and returns its stdout; a failure names the tool and its stderr. */
export function runCommand(file: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const timeout = options.timeoutMs ?? 5 * 60_000;
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        cwd: options.cwd,
        env: options.env ?? process.env,
        timeout,
        killSignal: "SIGKILL",
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const why = err.killed
          ? `did not finish within ${timeout} ms`
          : `failed: ${stderr.trim().split("\n").slice(-5).join(" | ") || err.message}`;
        reject(new PackagingError("COMMAND_FAILED", `${file} ${args.join(" ")} ${why}`));
      },
    );
  });
}
