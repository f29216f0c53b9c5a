import { randomBytes } from "node:crypto";
import { isMainThread } from "node:worker_threads";
import { fileURLToPath } from "node:url";
import { clone } from "./commands/clone.js";
import { create } from "./commands/create.js";
import { exec } from "./commands/exec.js";
import { config, set, status } from "./commands/config.js";
import { destroy } from "./commands/destroy.js";
import { fstrim } from "./commands/fstrim.js";
import { list } from "./commands/list.js";
import { mount, unmount } from "./commands/mount.js";
import { start, shutdown, stop } from "./commands/power.js";
import { push } from "./commands/push.js";
import type { SimContext } from "./commands/sim-context.js";
import { unlock } from "./commands/unlock.js";
import { delsnapshot } from "./commands/delsnapshot.js";
import { listsnapshot } from "./commands/list-snapshot.js";
import { snapshot } from "./commands/snapshot.js";
import { chooseFault } from "./faults/active-fault.js";
import { PctError } from "./node/pct-error.js";
import { openSimNode } from "./node/sim-node.js";
import { recordCall } from "./node/tasks.js";
import { runTask } from "./tasks/run-task.js";
import { runTaskBody } from "./tasks/task-body.js";
import type { TaskCommand } from "./tasks/task-command.js";
import { vzdump } from "./vzdump/vzdump-command.js";
import { WORKER_ARG } from "./tasks/worker-plan.js";
import { runWorkerProcess } from "./tasks/worker-process.js";

// A table of task commands with different plans: `P` is both produced and consumed, so only
// `any` admits them all (each command keeps its own `P` checked where it is declared).
type Command = ((ctx: SimContext, args: string[]) => string | { stdout: Buffer; exitCode: number }) | TaskCommand<any>;

const COMMANDS: Record<string, Command> = {
  create, clone, destroy, start, stop, shutdown, status, list, config, set, push, exec, snapshot, listsnapshot, delsnapshot, unlock, mount, unmount, fstrim,
};

// Task commands of the node's other tools, whose workers re-execute this entry too.
const OTHER_TASKS: Record<string, TaskCommand<any>> = { vzdump };

function taskCommand(name: string): TaskCommand<unknown> | undefined {
  const command = COMMANDS[name] ?? OTHER_TASKS[name];
  return command && "kind" in command ? (command as TaskCommand<unknown>) : undefined;
}

async function run(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const command = name ? COMMANDS[name] : undefined;
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
  recordCall(node.layout, { event: "start", id, pid: process.pid, argv, vmid, at: started, ...(caller ? { caller } : {}) });
  // Written even when a command calls process.exit; a SIGKILLed call has only its start line.
  process.on("exit", (code) => recordCall(node.layout, { event: "end", id, exitCode: code, durationMs: Date.now() - started, at: Date.now() }));
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

async function pct(): Promise<void> {
  try {
    process.exitCode = await run(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof PctError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exitCode = err.exitCode;
  }
}

// One executable, three roles: `pct`, a task worker process (`pct` re-executes it), and the
// worker's body thread.
if (!isMainThread) runTaskBody(taskCommand);
else if (process.argv[2] === WORKER_ARG) runWorkerProcess(fileURLToPath(import.meta.url));
else await pct();
