import { readFile } from "node:fs/promises";
import { parseActiveListLine } from "../../pct/active-list.js";
import { liveTaskWorkers } from "../../pct/task-worker.js";
import { fail, pass, type DoctorCheck } from "../check.js";

/** Every line of Proxmox's active task list parses, and the running tasks are found in /proc. */
export const activeTasksCheck: DoctorCheck = {
  id: "active-tasks",
  title: "active task list parsed",
  async run(ctx) {
    const file = ctx.paths.tasksActive;
    const text = await readFile(file, "utf8").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return null;
      throw err;
    });
    if (text === null) return pass(`${file} does not exist yet: no task has run on this node`);
    const lines = text
      .split("\n")
      .map((line, index) => ({ line, number: index + 1 }))
      .filter(({ line }) => line !== "");
    const bad = lines.filter(({ line }) => parseActiveListLine(line) === null);
    if (bad.length > 0)
      return fail(
        `${file}: ${bad.length} of ${lines.length} lines are no task entry (INotify.pm read_active_workers), line ${bad[0]!.number} ${JSON.stringify(bad[0]!.line)}`,
      );
    const listedRunning = lines.filter(({ line }) => parseActiveListLine(line)!.running).length;
    const live = (await liveTaskWorkers(file, ctx.proc())).length;
    return pass(
      `${lines.length} entries, every one parsed: ${listedRunning} listed running, ${live} task worker${live === 1 ? "" : "s"} alive in /proc`,
    );
  },
};
