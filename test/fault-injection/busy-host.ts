import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const SLEEPERS = fileURLToPath(new URL("./busy-host-sleepers.py", import.meta.url));
// Each sleeper holds these files open: /proc/<pid>/fd of thousands of processes is what a
// scan of open files or of processes has to walk through.
const FILES_PER_PROCESS = 4;
const READY_MS = 120_000;

/**
 * A busy host: thousands of sleeping processes, each holding files open, as a node running
 * many guests' and services' processes has. They sleep at most `lifeS` seconds, so that even
 * a suite that died leaves none behind for long; `end` kills them all (one process group).
 */
export class BusyHost {
  private constructor(
    private readonly group: ChildProcess,
    readonly processes: number,
    private readonly dir: string,
  ) {}

  static async start(processes: number, lifeS: number): Promise<BusyHost> {
    const dir = mkdtempSync(path.join(os.tmpdir(), "lockstep-busy-host-"));
    const files = Array.from({ length: FILES_PER_PROCESS }, (_, i) => {
      const file = path.join(dir, `held-${i}`);
      writeFileSync(file, "held open by the busy host's sleepers\n");
      return file;
    });
    const group = spawn("/usr/bin/python3", [SLEEPERS, String(processes), String(lifeS), ...files], {
      detached: true,
      stdio: ["ignore", "pipe", "inherit"],
    });
    const host = new BusyHost(group, processes, dir);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`the busy host's ${processes} sleepers were not all forked in ${READY_MS / 1000} s`)),
          READY_MS,
        );
        group.stdout!.on("data", (d: Buffer) => {
          if (!d.toString().startsWith("ready")) return;
          clearTimeout(timer);
          resolve();
        });
        group.once("exit", (code) =>
          reject(new Error(`the busy host's forker exited ${code} before its sleepers were ready`)),
        );
      });
    } catch (err) {
      await host.end();
      throw err;
    }
    return host;
  }

  /** Kills every sleeper (the whole group) and waits for the forker to exit, then removes the held files. */
  async end(): Promise<void> {
    const exited = new Promise<void>((resolve) => {
      this.group.once("exit", () => resolve());
      if (this.group.exitCode !== null || this.group.signalCode !== null) resolve();
    });
    try {
      process.kill(-this.group.pid!, "SIGKILL");
    } catch {
      // The group is gone already.
    }
    await exited;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
