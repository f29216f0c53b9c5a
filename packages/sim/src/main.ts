import { isMainThread } from "node:worker_threads";
import { fileURLToPath } from "node:url";
import { WORKER_ARG } from "./tasks/worker-plan.js";

// One executable, three roles: `pct`, a task worker process (`pct` re-executes it), and the
// worker's body thread. Each loads only what its role needs (see command-table.ts).
if (!isMainThread) {
  const { runTaskBody } = await import("./tasks/task-body.js");
  const { taskCommand } = await import("./command-table.js");
  await runTaskBody(taskCommand);
} else if (process.argv[2] === WORKER_ARG) {
  const { runWorkerProcess } = await import("./tasks/worker-process.js");
  runWorkerProcess(fileURLToPath(import.meta.url));
} else {
  const { pct } = await import("./pct.js");
  await pct();
}
