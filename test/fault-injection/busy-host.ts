import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

// Each sleeper holds these files open (as fds 1 to 4): /proc/<pid>/fd of thousands of
// processes is what a scan of open files or of processes has to walk through.
const FILES_PER_PROCESS = 4;

/**
 * A busy host: thousands of sleeping processes, each holding files open, as a node running
 * many guests' and services' processes has. They sleep at most `lifeS` seconds, so that even
 * a suite that died leaves none behind for long; `end` kills them all.
 */
export class BusyHost {
  private constructor(
    private readonly sleepers: ChildProcess[],
    private readonly dir: string,
  ) {}

  static async start(processes: number, lifeS: number): Promise<BusyHost> {
    const dir = mkdtempSync(path.join(os.tmpdir(), "lockstep-busy-host-"));
    const fds = Array.from({ length: FILES_PER_PROCESS }, (_, i) => {
      const file = path.join(dir, `held-${i}`);
      writeFileSync(file, `held open by the busy host's sleepers\n`);
      return openSync(file, "r+");
    });
    const sleepers: ChildProcess[] = [];
    try {
      for (let i = 0; i < processes; i++) {
        sleepers.push(spawn("sleep", [String(lifeS)], { stdio: ["ignore", ...fds], detached: false }));
        // Yield now and then: spawning thousands in one go would starve the suite's own timers.
        if (i % 100 === 99) await new Promise((r) => setImmediate(r));
      }
    } finally {
      for (const fd of fds) closeSync(fd);
    }
    return new BusyHost(sleepers, dir);
  }

  get processes(): number {
    return this.sleepers.length;
  }

  /** Kills every sleeper and waits until each has exited, then removes the held files. */
  async end(): Promise<void> {
    await Promise.all(this.sleepers.map((p) => new Promise<void>((resolve) => {
      p.once("exit", () => resolve());
      if (p.exitCode !== null || p.signalCode !== null) resolve();
      else p.kill("SIGKILL");
    })));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
