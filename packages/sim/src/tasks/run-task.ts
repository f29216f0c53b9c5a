import type { SimContext } from "../commands/sim-context.js";
import { sleepSync } from "../locking/flock.js";
import { PctError } from "../node/pct-error.js";
import { Task } from "../node/tasks.js";
import type { TaskCommand, TaskIo } from "./task-command.js";

/**
 * Runs a task command. INTERIM: the body runs in the `pct` process itself, as the simulator
 * always did; the forked, setsid'd worker of fork_worker replaces this.
 */
export function runTask<P>(ctx: SimContext, command: TaskCommand<P>, args: string[]): string {
  const plan = command.before(ctx, args);
  const task = new Task(ctx.node.layout, ctx.node.name, plan.type, plan.id === "" ? 0 : Number(plan.id));
  let out = "";
  const io: TaskIo = { upid: task.upid, print: (text) => void (out += text), sleep: (ms) => sleepSync(ms), checkpoint: () => undefined };
  try {
    command.body(ctx, plan.prepared, io);
    task.finish("OK");
    return out;
  } catch (err) {
    task.finish(err instanceof Error ? err.message : String(err));
    throw err instanceof PctError ? err : new PctError(String(err));
  } finally {
    plan.inheritedLock?.release();
  }
}
