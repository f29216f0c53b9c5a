import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { PctRun } from "./sim-harness.js";

/** Runs one of the simulator's other executables (`vzdump`, `qm`, `ha-manager`) on a node. */
export function runTool(tool: "vzdump" | "qm" | "ha-manager", root: string, args: string[], env: Record<string, string> = {}): Promise<PctRun> {
  const bin = fileURLToPath(new URL(`../bin/lockstep-sim-${tool}.js`, import.meta.url));
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, LOCKSTEP_SIM_ROOT: root, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.stdin.end();
    child.on("close", (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}
