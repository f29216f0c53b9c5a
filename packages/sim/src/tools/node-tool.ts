import { chooseFault } from "../faults/active-fault.js";
import { PctError } from "../node/pct-error.js";
import { openSimNode } from "../node/sim-node.js";
import { requireCliEnvironment } from "../pmxcfs/pmxcfs-ipc.js";
import { chronyc, simClock } from "./chronyc.js";
import { pvesh } from "./pvesh.js";
import { pvesm } from "./pvesm.js";
import { pveversion } from "./pveversion.js";

/** The node tools the simulator stands in for beside pct (bin/lockstep-sim-<tool>.js). */
export type NodeTool = "pveversion" | "pvesh" | "pvesm" | "chronyc";

/**
 * Runs one node tool on the node named by the environment, as `qm` runs: in-process, its
 * failure on stderr with its exit status. pvesh and pvesm set up the CLI environment as every
 * PVE CLI does (pve-common RESTEnvironment.pm setup_default_cli_env, which dies while pmxcfs is
 * stopped); pveversion never asks pmxcfs (bin/pveversion reads only the package cache) and
 * chronyc is no PVE tool. A fault rule naming the tool exactly (`"command": "pvesh"`; `*`
 * rules are pct's) strikes before it answers.
 */
export function runNodeTool(tool: NodeTool, argv: readonly string[], env: NodeJS.ProcessEnv): number {
  try {
    const node = openSimNode(env);
    if (tool === "pvesh" || tool === "pvesm") requireCliEnvironment(node.layout);
    chooseFault(node.layout, env, tool, null, { exact: true }).at("midway");
    const { stdout, exitCode } = answer(tool, node, argv, env);
    process.stdout.write(stdout);
    return exitCode;
  } catch (err) {
    if (!(err instanceof PctError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return err.exitCode;
  }
}

function answer(
  tool: NodeTool,
  node: ReturnType<typeof openSimNode>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): { stdout: string; exitCode: number } {
  switch (tool) {
    case "pveversion":
      return { stdout: pveversion(node, argv), exitCode: 0 };
    case "pvesh":
      return { stdout: pvesh(node, argv), exitCode: 0 };
    case "pvesm":
      return { stdout: pvesm(node, argv), exitCode: 0 };
    case "chronyc":
      return chronyc(argv, simClock(env), Date.now());
  }
}
