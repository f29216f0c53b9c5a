import { randomBytes } from "node:crypto";
import { clone } from "./commands/clone.js";
import { create } from "./commands/create.js";
import { exec } from "./commands/exec.js";
import { config, set, status } from "./commands/config.js";
import { destroy, start, stop, unlock } from "./commands/lifecycle.js";
import { fstrim } from "./commands/fstrim.js";
import { list } from "./commands/list.js";
import { mount, unmount } from "./commands/mount.js";
import { push } from "./commands/push.js";
import type { SimContext } from "./commands/sim-context.js";
import { delsnapshot, listsnapshot, snapshot } from "./commands/snapshots.js";
import { chooseFault } from "./faults/active-fault.js";
import { PctError } from "./node/pct-error.js";
import { openSimNode } from "./node/sim-node.js";
import { recordCall } from "./node/tasks.js";
import { runTask } from "./tasks/run-task.js";
import type { TaskCommand } from "./tasks/task-command.js";

type Command = ((ctx: SimContext, args: string[]) => string | { stdout: Buffer; exitCode: number }) | TaskCommand<never>;

const COMMANDS: Record<string, Command> = {
  create, clone, destroy, start, stop, status, list, config, set, push, exec, snapshot, listsnapshot, delsnapshot, unlock,
  shutdown: (ctx, args) => stop(ctx, args, "vzshutdown"),
  mount,
  unmount,
  fstrim,
};

function run(argv: string[]): number {
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
  recordCall(node.layout, { event: "start", id, pid: process.pid, argv, vmid, at: started });
  // Written even when a command calls process.exit; a SIGKILLed call has only its start line.
  process.on("exit", (code) => recordCall(node.layout, { event: "end", id, exitCode: code, durationMs: Date.now() - started, at: Date.now() }));
  const ctx: SimContext = { node, fault: chooseFault(node.layout, process.env, name!, vmid), env: process.env };
  const result = "kind" in command ? runTask(ctx, command as TaskCommand<unknown>, args) : command(ctx, args);
  if (typeof result === "string") {
    process.stdout.write(result);
    return 0;
  }
  process.stdout.write(result.stdout);
  return result.exitCode;
}

try {
  process.exitCode = run(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof PctError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exitCode = err.exitCode;
}
