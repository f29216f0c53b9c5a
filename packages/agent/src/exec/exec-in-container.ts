import { ClusterNoQuorumError, HypervisorUnresponsiveError, InvalidArgumentError, NotRunningError } from "../errors.js";
import type { NodeContext } from "../node/node-context.js";
import { requireVmid } from "../node/require-valid.js";
import type { OperationScope } from "../pct/operation-scope.js";
import { NO_CONFIG, pctFailure } from "../pct/pct-failure.js";
import { runReportingUnresponsive, trustedFailure } from "../pct/pct-mutation.js";
import type { PctResult } from "../pct/pct-runner.js";
import { guestExecArgs } from "./guest-environment.js";

export interface ExecOutcome {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutTruncated: boolean;
  readonly stderrTruncated: boolean;
  readonly durationMs: number;
}

const MAX_ARGS = 256;
const MAX_ARG_BYTES = 32 * 1024;
// `pct exec`'s own refusal for a stopped container; anything else is the command's output.
const NOT_RUNNING = /^container '?\d+'? not running!?$/m;

/**
 * Runs a command inside the container as an argv array after `--`, so that neither `pct`
 * nor a shell reinterprets it, with the guest environment of GUEST_ENVIRONMENT and nothing
 * of the agent's. The exit status is the command's; output is bounded.
 * `pct exec` takes no config lock, so this bypasses the lock discipline by design.
 */
export async function execInContainer(
  ctx: NodeContext,
  vmid: number,
  argv: readonly string[],
  options: { timeoutMs?: number; stdin?: Buffer; op?: OperationScope } = {},
): Promise<ExecOutcome> {
  requireVmid(vmid);
  validateArgv(argv);
  const timeoutMs = Math.min(options.timeoutMs || ctx.timeouts.execDefaultMs, ctx.timeouts.execMaxMs);
  const result = await runReportingUnresponsive(ctx, vmid, guestExecArgs(vmid, argv), {
    timeoutMs,
    stdin: options.stdin,
    op: options.op,
    maxOutputBytes: ctx.limits.execOutputBytes,
  });
  if (result.exitCode !== 0 && NOT_RUNNING.test(result.stderr)) {
    throw new NotRunningError(vmid);
  }
  if (result.exitCode !== 0 && isPctOwnFailure(result, vmid)) throw await trustedFailure(ctx, ["exec"], result, vmid);
  return {
    exitCode: result.exitCode,
    stdout: result.stdout,
    stderr: result.stderr,
    stdoutTruncated: result.stdoutTruncated ?? false,
    stderrTruncated: result.stderrTruncated ?? false,
    durationMs: result.durationMs,
  };
}

/**
 * Whether `pct exec` itself failed before the command ran: its config unreadable or missing, or
 * /etc/pve out of reach (pmxcfs stopped, lost, without quorum). Such an exit status is not the
 * command's, and taking it for one (say, `systemctl is-active` answering "inactive") would be
 * a false verdict on the guest. A guest printing these very words only makes the call retried.
 */
function isPctOwnFailure(result: PctResult, vmid: number): boolean {
  const failure = pctFailure(["exec"], result, vmid);
  return (
    failure instanceof HypervisorUnresponsiveError ||
    failure instanceof ClusterNoQuorumError ||
    failure.metadata.reason === NO_CONFIG
  );
}

function validateArgv(argv: readonly string[]): void {
  if (argv.length === 0 || argv[0] === "") throw new InvalidArgumentError("argv", "must name a command");
  // The guest's `env` would take a first word with `=` for a variable, not the command.
  if (argv[0]!.includes("=")) throw new InvalidArgumentError("argv", "must not start with a word containing '='");
  if (argv.length > MAX_ARGS) throw new InvalidArgumentError("argv", `must have at most ${MAX_ARGS} elements`);
  for (const arg of argv) {
    if (arg.includes("\0")) throw new InvalidArgumentError("argv", "must not contain NUL");
    if (Buffer.byteLength(arg) > MAX_ARG_BYTES)
      throw new InvalidArgumentError("argv", `elements must be at most ${MAX_ARG_BYTES} bytes`);
  }
}
