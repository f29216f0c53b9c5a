import { fileURLToPath } from "node:url";
import { runExecutable, type PctRun } from "./sim-harness.js";

/** Runs one of the simulator's other executables (`vzdump`, `qm`, `ha-manager`, the node tools) on a node. */
export function runTool(
  tool: "vzdump" | "qm" | "ha-manager" | "pveversion" | "pvesh" | "pvesm" | "chronyc",
  root: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<PctRun> {
  const bin = fileURLToPath(new URL(`../bin/lockstep-sim-${tool}.js`, import.meta.url));
  return runExecutable(bin, args, { ...process.env, LOCKSTEP_SIM_ROOT: root, ...env });
}
