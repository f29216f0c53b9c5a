import { parseProcLocks } from "../../proc/proc-locks.js";
import { fail, pass, type DoctorCheck } from "../check.js";

/** /proc/locks reads, and the agent's parser understands every line of it. */
export const procLocksCheck: DoctorCheck = {
  id: "proc-locks",
  title: "/proc/locks readable and parsed",
  async run(ctx) {
    const text = await ctx.proc().locks();
    const lines = text.split("\n").filter((line) => line.trim() !== "");
    const unparsed = lines.filter((line) => parseProcLocks(line).length === 0);
    if (unparsed.length > 0)
      return fail(`${unparsed.length} of ${lines.length} lines not understood, first ${JSON.stringify(unparsed[0])}`);
    const flocks = parseProcLocks(text).filter((lock) => lock.kind === "FLOCK").length;
    return pass(`${lines.length} lines, every one parsed (${flocks} FLOCK)`);
  },
};
