import { spawnSync } from "node:child_process";
import { closeSync, constants, linkSync, mkdirSync, openSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { scratchDir, type TestScope } from "@lockstep/shared";

/**
 * A directory laid out as /proc, for a reader rooted there: fd links are real symlinks (their
 * targets need not exist), fdinfo entries regular files or FIFOs. A FIFO's read blocks until
 * the test writes to it, which is how a test holds a scan inside one read.
 * The directory is the test's scratch directory (removed if it passed, kept if it failed), and
 * blocked readers are let go in its teardown, before that.
 */
export function fakeProcRoot(t: TestScope) {
  const root = scratchDir(t, "fake-proc");
  writeFileSync(path.join(root, "stat"), "cpu  1 2 3\nbtime 1700000000\n");
  writeFileSync(path.join(root, "locks"), "");
  const fifos: { release(text?: string): void }[] = [];
  const dirs = (pid: number) => {
    for (const dir of ["fd", "fdinfo"]) mkdirSync(path.join(root, String(pid), dir), { recursive: true });
    return { fd: path.join(root, String(pid), "fd"), fdinfo: path.join(root, String(pid), "fdinfo") };
  };
  const releaseAll = () => {
    for (const fifo of fifos) fifo.release();
  };
  t.teardown(releaseAll);
  return {
    root,
    /** A process: its stat and cmdline. */
    process(pid: number, cmdline: string) {
      dirs(pid);
      writeFileSync(
        path.join(root, String(pid), "stat"),
        `${pid} (x) S 1 ${pid} ${pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n`,
      );
      writeFileSync(path.join(root, String(pid), "cmdline"), `${cmdline}\0`);
    },
    /** Descriptor `fd` of `pid` pointing at `target`, its fdinfo with these `lock:` lines. */
    fd(pid: number, fd: number, target: string, lockLines: readonly string[] = []) {
      const d = dirs(pid);
      symlinkSync(target, path.join(d.fd, String(fd)));
      writeFileSync(path.join(d.fdinfo, String(fd)), ["pos:\t0", "flags:\t02100002", ...lockLines].join("\n") + "\n");
    },
    /**
     * Makes the fdinfo of `pid`'s `fd` a FIFO: a read of it blocks until `release`. The FIFO
     * stays reachable by another name, so a blocked reader can be released after its entry
     * was replaced.
     */
    blockingFdinfo(pid: number, fd: number) {
      const entry = path.join(dirs(pid).fdinfo, String(fd));
      rmSync(entry, { force: true });
      if (spawnSync("mkfifo", [entry]).status !== 0) throw new Error(`mkfifo ${entry} failed`);
      const keep = path.join(root, `fifo-${fifos.length}`);
      linkSync(entry, keep);
      let writer: number | null = null;
      const fifo = {
        /**
         * Whether a reader is blocked on it: a non-blocking open for writing succeeds only
         * then, and lets the reader's open return; its read then waits for `release`.
         */
        reached(): boolean {
          try {
            writer ??= openSync(keep, constants.O_WRONLY | constants.O_NONBLOCK);
            return true;
          } catch {
            return false;
          }
        },
        /** Gives a blocked reader `text` and end of file. */
        release(text = ""): void {
          if (!fifo.reached()) return;
          if (text) writeFileSync(writer!, text);
          closeSync(writer!);
          writer = null;
        },
      };
      fifos.push(fifo);
      return fifo;
    },
  };
}
