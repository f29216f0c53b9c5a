import { randomBytes } from "node:crypto";
import { pctCommand } from "./command-table.js";
import type { SimContext } from "./commands/sim-context.js";
import { chooseFault } from "./faults/active-fault.js";
import { PctError } from "./node/pct-error.js";
import { openSimNode } from "./node/sim-node.js";
import { requireCliEnvironment } from "./pmxcfs/pmxcfs-ipc.js";
import { recordCall } from "./node/tasks.js";
import { runTask } from "./tasks/run-task.js";
import type { TaskCommand } from "./tasks/task-command.js";

/** The simulated `pct`: runs argv's subcommand and sets the exit status as pct.pm does. */
export async function pct(): Promise<void> {
  try {
    process.exitCode = await run(process.argv.slice(2));
  } catch (err) {
    const failure = err instanceof PctError ? err : fileFailure(err);
    if (!failure) throw err;
    process.stderr.write(`${failure.message}\n`);
    process.exitCode = failure.exitCode;
  }
}

const STRERROR: Record<string, string> = {
  EACCES: "Permission denied",
  EIO: "Input/output error",
  EISDIR: "Is a directory",
  ELOOP: "Too many levels of symbolic links",
  ENOENT: "No such file or directory",
  ENOTCONN: "Transport endpoint is not connected",
  EROFS: "Read-only file system",
};

/**
 * A file that cannot be read or written (/etc/pve gone from under a running pct: pmxcfs
 * stopped or died) ends pct as Perl's `die` does in pve-common src/PVE/Tools.pm
 * file_get_contents: `unable to open file '<path>' - <strerror>`, exit 255, never a stack trace.
 */
function fileFailure(err: unknown): PctError | null {
  const errno = err as NodeJS.ErrnoException;
  if (!errno?.code || !errno.syscall) return null;
  const why = STRERROR[errno.code] ?? errno.code;
  return new PctError(
    errno.path ? `unable to open file '${errno.path}' - ${why}` : `${errno.syscall} failed - ${why}`,
    255,
  );
}

async function run(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const command = name ? await pctCommand(name) : undefined;
  if (!command) {
    process.stderr.write(`${name ? `unknown command 'pct ${name}'\n` : ""}USAGE: pct <COMMAND> [ARGS] [OPTIONS]\n`);
    return 255;
  }
  const node = openSimNode(process.env);
  const vmid = /^\d+$/.test(args[0] ?? "") ? Number(args[0]) : null;
  const id = randomBytes(6).toString("hex");
  const started = Date.now();
  // LOCKSTEP_SIM_CALLER names who ran pct (a test's operator, say), so the log tells it from the agent.
  const caller = process.env.LOCKSTEP_SIM_CALLER;
  recordCall(node.layout, {
    event: "start",
    id,
    pid: process.pid,
    argv,
    vmid,
    at: started,
    ...(caller ? { caller } : {}),
  });
  // Written even when a command calls process.exit; a SIGKILLed call has only its start line.
  process.on("exit", (code) =>
    recordCall(node.layout, { event: "end", id, exitCode: code, durationMs: Date.now() - started, at: Date.now() }),
  );
  requireCliEnvironment(node.layout);
  const ctx: SimContext = { node, fault: chooseFault(node.layout, process.env, name!, vmid), env: process.env };
  if ("kind" in command) return runTask(ctx, name!, command as TaskCommand<unknown>, args);
  const result = command(ctx, args);
  if (typeof result === "string") {
    process.stdout.write(result);
    return 0;
  }
  process.stdout.write(result.stdout);
  return result.exitCode;
}
