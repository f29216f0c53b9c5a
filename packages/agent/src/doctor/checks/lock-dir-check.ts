import { stat } from "node:fs/promises";
import path from "node:path";
import { sameFile } from "../../locks/flock-holders.js";
import { fileId } from "../../locks/lock-inspector.js";
import { parseProcLocks } from "../../proc/proc-locks.js";
import { fail, firstLine, pass, warn, type DoctorCheck } from "../check.js";
import { mountOf, readMountInfo } from "../mount-info.js";

/**
 * The config locks' directory is a directory, and a flock taken in its filesystem shows in
 * /proc/locks under the device and inode `stat` gives: how the agent tells who holds a lock
 * (locks/lock-inspector.ts). A shared flock on the directory itself proves it without writing
 * anything (nobody locks the directory; Proxmox locks the files in it), taken with util-linux
 * flock(1), which the agent runs for its own locks too.
 */
export const lockDirCheck: DoctorCheck = {
  id: "lock-dir",
  title: "lock directory and its filesystem",
  async run(ctx) {
    const dir = ctx.paths.lockDir;
    const st = await stat(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return null;
      throw err;
    });
    if (!st) return warn(`${dir} does not exist yet: pct makes it at its first lock, the agent at its start`);
    if (!st.isDirectory()) return fail(`${dir} is not a directory`);
    const mount = mountOf(await readMountInfo(), dir);
    const on = mount ? `${mount.fstype} (${mount.mountpoint})` : "an unknown filesystem";
    const id = await fileId(dir);
    const locks = path.join(ctx.config.paths.procRoot, "locks");
    const held = await ctx.runTool([ctx.tools.flock, "-s", "-n", dir, "cat", locks], ctx.options.timeoutMs);
    if (held.exitCode === 1 && held.stderr === "")
      return warn(`${dir} on ${on}: someone holds an exclusive flock on the directory itself; not proven`);
    if (held.exitCode !== 0)
      return fail(`flock -s ${dir} cat ${locks} exited ${held.exitCode}: ${firstLine(held.stderr) || "no message"}`);
    const shown =
      id !== null &&
      parseProcLocks(held.stdout).some((lock) => lock.kind === "FLOCK" && !lock.waiting && sameFile(lock, id));
    const where = id
      ? `${id.major.toString(16).padStart(2, "0")}:${id.minor.toString(16).padStart(2, "0")}:${id.inode}`
      : "?";
    if (!shown)
      return fail(
        `${dir} on ${on}: a flock there does not show in ${locks} as ${where}; the agent could not see who holds a config lock`,
      );
    return pass(`${dir} on ${on}; a flock there shows in ${locks} as ${where}`);
  },
};
