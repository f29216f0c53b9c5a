import { execFile, type ExecFileException } from "node:child_process";
import { NetworkError } from "./network-error.js";

/** How long an `ip`, `tc`, `nft` or `iptables` call may take unless told otherwise. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;

export interface CommandOptions {
  /** Killed (SIGKILL) and failed with COMMAND_TIMEOUT past this; DEFAULT_COMMAND_TIMEOUT_MS by default. */
  readonly timeoutMs?: number;
  /** Written to the command's stdin (an `nft -f -` script). */
  readonly input?: string;
}

/** Runs one program with an argv array (never a shell) and answers its stdout. */
export interface CommandRunner {
  run(argv: readonly string[], options?: CommandOptions): Promise<string>;
}

/** The real runner: execFile, a timeout on every call, failures as NetworkError. */
export const systemCommands: CommandRunner = {
  run(argv, options = {}) {
    const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    const [file, ...args] = argv;
    if (!file) return Promise.reject(new NetworkError("BAD_INPUT", "an empty argv was given to run"));
    return new Promise((resolve, reject) => {
      const child = execFile(
        file,
        args,
        { timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          reject(commandError(argv, timeoutMs, err, stderr));
        },
      );
      // A command that reads no stdin may be gone before its input is written.
      child.stdin?.on("error", () => undefined);
      child.stdin?.end(options.input ?? "");
    });
  },
};

function commandError(
  argv: readonly string[],
  timeoutMs: number,
  err: ExecFileException,
  stderr: string,
): NetworkError {
  const shown = argv.join(" ");
  if (err.code === "ENOENT")
    return new NetworkError(
      "UNSUPPORTED",
      `${argv[0]} is not installed (scripts/netns-prereqs.sh installs what the network toolkit needs)`,
    );
  const exitCode = typeof err.code === "number" ? err.code : null;
  const command = { argv, exitCode, stderr };
  if (err.killed)
    return new NetworkError("COMMAND_TIMEOUT", `${shown} did not end within ${timeoutMs} ms and was killed`, command);
  return new NetworkError(
    "COMMAND_FAILED",
    `${shown} exited ${exitCode ?? err.code}: ${stderr.trim() || err.message}`,
    command,
  );
}
