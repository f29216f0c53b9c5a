import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import {
  createSimCluster,
  liveTaskWorkers,
  readRuntime,
  simLayout,
  simPctBin,
  type SimClusterNode,
} from "../src/index.js";
import { scratchDir, type TestScope } from "@lockstep/shared";
import { runExecutable, type PctRun } from "./sim-harness.js";
import { runTool } from "./tool-run.js";

/** One node of a test cluster: its `pct`, its tools, and where its files are. */
export interface TestNode extends SimClusterNode {
  pct(args: string[], more?: Record<string, string>): Promise<PctRun>;
  tool(tool: "qm" | "ha-manager", args: string[]): Promise<PctRun>;
  /** `etc/pve/nodes/<node>/lxc/<vmid>.conf` as this node sees it, or null. */
  config(vmid: number, node?: string): string | null;
  running(vmid: number): boolean;
  active(): string;
}

/** A fresh simulated cluster of `n` nodes (`pve1`..) for as long as the test runs, each with `env` added to its pct's environment. */
export function testCluster(
  t: TestScope,
  n: number,
  env: Record<string, string> = {},
): { dir: string; nodes: TestNode[]; killWorkers(): void } {
  const cluster = createSimCluster({ nodes: n, base: scratchDir(t, "sim-cluster") });
  const nodes = cluster.nodes.map((node): TestNode => {
    const full = { ...process.env, ...node.env, ...env };
    return {
      ...node,
      pct: (args, more = {}) => runExecutable(simPctBin, args, { ...full, ...more }),
      tool: (tool, args) => runTool(tool, node.root, args, { ...node.env, ...env }),
      config: (vmid, owner = node.name) => {
        const file = path.join(node.root, "etc/pve/nodes", owner, "lxc", `${vmid}.conf`);
        return existsSync(file) ? readFileSync(file, "utf8") : null;
      },
      running: (vmid) => readRuntime(simLayout(node.root, node.name), vmid).running,
      active: () => readFileSync(path.join(node.root, "var/log/pve/tasks/active"), "utf8"),
    };
  });
  const killWorkers = (): void => {
    for (const node of nodes) {
      for (const { pid } of liveTaskWorkers(node.root)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch (err) {
          // Ended between the listing and the kill: nothing left to kill.
          if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
        }
      }
    }
  };
  return { dir: cluster.dir, nodes, killWorkers };
}
