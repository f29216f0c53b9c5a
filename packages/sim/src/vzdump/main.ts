import { chooseFault } from "../faults/active-fault.js";
import { PctError } from "../node/pct-error.js";
import { openSimNode } from "../node/sim-node.js";
import { requireCliEnvironment } from "../pmxcfs/pmxcfs-ipc.js";
import { runTask } from "../tasks/run-task.js";
import type { TaskCommand } from "../tasks/task-command.js";
import { vzdump } from "./vzdump-command.js";

// The simulated `vzdump` (pve-manager PVE/CLI/vzdump.pm): exits -1 (255) when the task's
// status is an error (`job errors`), 0 otherwise.
try {
  const node = openSimNode(process.env);
  requireCliEnvironment(node.layout); // pve-manager PVE/CLI/vzdump.pm setup_environment, as pct's
  const ctx = { node, fault: chooseFault(node.layout, process.env, "vzdump", null), env: process.env };
  process.exitCode = await runTask(ctx, "vzdump", vzdump as TaskCommand<unknown>, process.argv.slice(2));
} catch (err) {
  if (!(err instanceof PctError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exitCode = err.exitCode;
}
