import { randomBytes } from "node:crypto";
import { mkdir, open, rm, stat } from "node:fs/promises";
import path from "node:path";
import { fail, pass, warn, type DoctorCheck } from "../check.js";

/**
 * The agent's state directory (request records, operation intents, staged pushes) takes a
 * file and makes it durable: a probe file is created, written, fsync'd, its directory
 * fsync'd, then removed. A missing directory is first made as the agent makes it at its start
 * (0700, parents too). The one place the doctor writes in its read-only mode.
 */
export const stateDirCheck: DoctorCheck = {
  id: "state-dir",
  title: "state directory writable and synced",
  async run(ctx) {
    const dir = ctx.config.stateDir;
    const started = ctx.clock.now();
    const made = await mkdir(dir, { recursive: true, mode: 0o700 }).catch((err: NodeJS.ErrnoException) => err);
    if (made instanceof Error) return fail(`cannot make ${dir}: ${made.code ?? made.message}`);
    const st = await stat(dir);
    if (!st.isDirectory()) return fail(`${dir} is not a directory`);
    const failure = await probeWrite(dir).catch((err: NodeJS.ErrnoException) => err.message);
    if (failure) return fail(`cannot write a durable file in ${dir}: ${failure}`);
    const mode = st.mode & 0o777;
    const seen = `${dir}${made ? " (made now, as the agent makes it)" : ""}, mode ${mode.toString(8)}: a probe file was written, fsync'd and removed in ${ctx.clock.now() - started} ms`;
    // Request records name what was asked of the node: root's only, as systemd's StateDirectoryMode makes it.
    return mode & 0o077 ? warn(`${seen}; others may read it: 0700 expected`) : pass(seen);
  },
};

async function probeWrite(dir: string): Promise<null> {
  const probe = path.join(dir, `.doctor-probe-${process.pid}-${randomBytes(4).toString("hex")}`);
  const file = await open(probe, "wx", 0o600);
  try {
    await file.writeFile("lockstep-agent doctor probe\n");
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await syncDir(dir);
  } finally {
    await rm(probe, { force: true });
  }
  await syncDir(dir);
  return null;
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
