import { parentPort, workerData } from "node:worker_threads";
import type { SimContext } from "../commands/sim-context.js";
import { ActiveFault } from "../faults/active-fault.js";
import { openSimNode } from "../node/sim-node.js";
import { checkInterrupt, interruptibleSleep, watchInterrupts } from "./interrupt.js";
import type { TaskCommand, TaskIo } from "./task-command.js";
import { becomeTaskWorker, writeOutput } from "./task-output.js";
import type { WorkerPlan } from "./worker-plan.js";

/** What the worker process hands its body thread. */
export interface BodyThreadData {
  readonly plan: WorkerPlan;
  readonly upid: string;
  readonly interrupt: SharedArrayBuffer;
}

/** What the body thread answers: nothing on success, the error text on failure. */
export interface BodyResult {
  readonly error?: string;
}

/**
 * Runs in the worker process's thread: the task's body, synchronously, with output to fd 1
 * (the pipe to `pct`) and waits that notice the interrupt flag. Posts the outcome.
 */
export async function runTaskBody(lookup: (name: string) => Promise<TaskCommand<unknown> | undefined>): Promise<void> {
  const { plan, upid, interrupt } = workerData as BodyThreadData;
  watchInterrupts(interrupt);
  const node = openSimNode(process.env);
  becomeTaskWorker(node.layout, upid);
  const io: TaskIo = {
    upid,
    print: (text) => writeOutput(1, text),
    sleep: interruptibleSleep,
    checkpoint: checkInterrupt,
  };
  const ctx: SimContext = { node, fault: new ActiveFault(plan.rule).inTask(io), env: process.env };
  let result: BodyResult = {};
  try {
    const command = await lookup(plan.command);
    if (!command) throw new Error(`simulator: no task command '${plan.command}'`);
    command.body(ctx, plan.prepared, io);
  } catch (err) {
    result = { error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(result);
}
