import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import path from "node:path";
import { scratchDir, type TestScope } from "@lockstep/shared";
import { liveTaskWorkers, simPctBin } from "../src/index.js";

export const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";

export interface PctRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs one of the simulator's executables to its end, with empty stdin, collecting its output. */
export function runExecutable(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<PctRun> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [bin, ...args], { env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.stdin.end();
    child.on("close", (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

/** A fresh simulated node for as long as the test runs, and a way to run its `pct`. */
export function simNode(t: TestScope, extraEnv: Record<string, string> = {}) {
  const root = scratchDir(t, "sim-node");
  const env = { ...process.env, LOCKSTEP_SIM_ROOT: root, ...extraEnv };
  const pct = (args: string[], more: Record<string, string> = {}): Promise<PctRun> =>
    runExecutable(simPctBin, args, { ...env, ...more });
  const spawnPct = (args: string[], more: Record<string, string> = {}): ChildProcess =>
    spawn(process.execPath, [simPctBin, ...args], { env: { ...env, ...more }, stdio: "ignore" });
  // A killed pct leaves its task worker running, as on Proxmox: a test ends it explicitly.
  const killWorkers = (): void => {
    for (const { pid } of liveTaskWorkers(root)) process.kill(pid, "SIGKILL");
  };
  return {
    root,
    pct,
    spawnPct,
    killWorkers,
    lockFile: (vmid: number) => path.join(root, "run/lock/lxc", `pve-config-${vmid}.lock`),
    config: (vmid: number) => path.join(root, "etc/pve/lxc", `${vmid}.conf`),
  };
}

/** True when nobody holds a flock on `file` right now. */
export function lockIsFree(file: string): boolean {
  return spawnSync("flock", ["-n", file, "true"]).status === 0;
}

/**
 * Watches `file` every 50 ms for as long as `run` goes on: `held` once someone holds a flock on
 * it, or `run`'s outcome when it ended before the lock was ever seen held. Its only deadline is
 * `run`'s own end, so a `pct` slow to begin under load cannot be mistaken for one that never locks.
 */
export async function seenHeldDuring(
  file: string,
  run: Promise<PctRun>,
): Promise<{ held: true } | { held: false; run: PctRun }> {
  const outcome: { ended?: PctRun } = {};
  void run.then((r) => (outcome.ended = r));
  for (;;) {
    if (!lockIsFree(file)) return { held: true };
    if (outcome.ended) return { held: false, run: outcome.ended };
    await sleep(50);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `condition` every 50 ms until it holds or `ms` pass; returns whether it held. The
 * default is a deadline for what does happen: a `pct` that has to start Node first took more
 * than 5 s to take its lock under the whole suite's load on two CPUs (CI). A check that
 * something does not happen names its own, short, `ms`.
 */
export async function eventually(condition: () => boolean, ms = 30_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (condition()) return true;
  return condition();
}
