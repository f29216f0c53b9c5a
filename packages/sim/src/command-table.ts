import type { SimContext } from "./commands/sim-context.js";
import type { TaskCommand } from "./tasks/task-command.js";

// A table of task commands with different plans: `P` is both produced and consumed, so only
// `any` admits them all (each command keeps its own `P` checked where it is declared).
export type Command =
  ((ctx: SimContext, args: string[]) => string | { stdout: Buffer; exitCode: number }) | TaskCommand<any>;

// Each command is loaded when it is called, and only it: every `pct` call (and each task
// worker) is a Node process of its own, and loading the whole simulator for a `pct status`
// is most of what such a call costs.
const PCT: Record<string, () => Promise<Command>> = {
  create: async () => (await import("./commands/create.js")).create,
  clone: async () => (await import("./commands/clone.js")).clone,
  migrate: async () => (await import("./commands/migrate.js")).migrate,
  destroy: async () => (await import("./commands/destroy.js")).destroy,
  start: async () => (await import("./commands/power.js")).start,
  stop: async () => (await import("./commands/power.js")).stop,
  shutdown: async () => (await import("./commands/power.js")).shutdown,
  status: async () => (await import("./commands/config.js")).status,
  list: async () => (await import("./commands/list.js")).list,
  config: async () => (await import("./commands/config.js")).config,
  set: async () => (await import("./commands/config.js")).set,
  push: async () => (await import("./commands/push.js")).push,
  exec: async () => (await import("./commands/exec.js")).exec,
  snapshot: async () => (await import("./commands/snapshot.js")).snapshot,
  listsnapshot: async () => (await import("./commands/list-snapshot.js")).listsnapshot,
  delsnapshot: async () => (await import("./commands/delsnapshot.js")).delsnapshot,
  unlock: async () => (await import("./commands/unlock.js")).unlock,
  mount: async () => (await import("./commands/mount.js")).mount,
  unmount: async () => (await import("./commands/mount.js")).unmount,
  fstrim: async () => (await import("./commands/fstrim.js")).fstrim,
};

// Task commands of the node's other tools, whose workers re-execute the pct entry too.
const OTHER_TASKS: Record<string, () => Promise<TaskCommand<any>>> = {
  vzdump: async () => (await import("./vzdump/vzdump-command.js")).vzdump,
};

/** The `pct` subcommand `name`, or undefined for one the simulator does not have. */
export async function pctCommand(name: string): Promise<Command | undefined> {
  return Object.hasOwn(PCT, name) ? PCT[name]!() : undefined;
}

/** The task command whose body a worker runs: a pct subcommand or another tool's task. */
export async function taskCommand(name: string): Promise<TaskCommand<unknown> | undefined> {
  const command = Object.hasOwn(PCT, name)
    ? await PCT[name]!()
    : Object.hasOwn(OTHER_TASKS, name)
      ? await OTHER_TASKS[name]!()
      : undefined;
  return command && "kind" in command ? (command as TaskCommand<unknown>) : undefined;
}
