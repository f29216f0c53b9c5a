import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { simPctBin } from "@lockstep/sim";
import { TEMPLATE } from "../support/app-spec.js";
import type { NodeEnv } from "./cluster-pmxcfs.js";

const run = promisify(execFile);
const SIM_BIN = (name: string): string =>
  fileURLToPath(new URL(`../../packages/sim/bin/lockstep-sim-${name}.js`, import.meta.url));

/** Who the simulators' call logs name for the scenario's own `pct`, `vzdump`, `qm` and `ha-manager` runs. */
export const OPERATOR = "operator";

/** A guest on a node that Lockstep did not make and must never change. */
export interface Bystander {
  readonly node: string;
  readonly vmid: number;
  readonly type: "lxc" | "qemu";
  /** Its config file as it was made, to compare with at the end. */
  readonly config: string;
}

/**
 * Runs a node tool as an operator at the node's shell would: `pct`, `vzdump`, `qm` or
 * `ha-manager` of the simulator with the node's environment (its root, name and cluster), and
 * LOCKSTEP_SIM_CALLER set so the call log tells these calls from the agent's.
 */
export async function asOperator(
  node: NodeEnv,
  tool: "pct" | "vzdump" | "qm" | "ha-manager",
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; output: string }> {
  const bin = tool === "pct" ? simPctBin : SIM_BIN(tool);
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
      env: { ...process.env, ...node, LOCKSTEP_SIM_CALLER: OPERATOR, ...env },
    });
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === "number" ? failed.code : 255,
      output: `${failed.stdout ?? ""}${failed.stderr ?? ""}`,
    };
  }
}

/**
 * Someone else's guests on every node before the workload starts: one running container
 * outside the API's VMID range per node, and QEMU VMs INSIDE the range (10001, 10004), each
 * owned by one node and visible from all through the cluster filesystem (pve-cluster memdb.c
 * vmlist): the API must skip those VMIDs on every node.
 */
export async function placeBystanders(envs: ReadonlyMap<string, NodeEnv>, clusterDir: string): Promise<Bystander[]> {
  const nodes = [...envs.keys()];
  const placed: Bystander[] = [];
  for (const [i, node] of nodes.entries()) {
    const vmid = 900 + i;
    const made = await asOperator(envs.get(node)!, "pct", [
      "create",
      String(vmid),
      TEMPLATE,
      "--storage",
      "local-lvm",
      "--hostname",
      `theirs-${i}`,
      "--tags",
      "customer-a",
      "--start",
      "1",
    ]);
    if (made.code !== 0) throw new Error(`placing a foreign container on ${node}: ${made.output}`);
    placed.push({ node, vmid, type: "lxc", config: configText(clusterDir, node, "lxc", vmid) });
  }
  for (const [i, vmid] of [10001, 10004].entries()) {
    const owner = nodes[i % nodes.length]!;
    const made = await asOperator(envs.get(owner)!, "qm", ["create", String(vmid), "--name", `vm-${vmid}`]);
    if (made.code !== 0) throw new Error(`placing VM ${vmid}: ${made.output}`);
    placed.push({ node: owner, vmid, type: "qemu", config: configText(clusterDir, owner, "qemu", vmid) });
  }
  return placed;
}

/** A guest's config file, read in the cluster directory (never through a node's pmxcfs mount). */
export function configText(clusterDir: string, node: string, type: "lxc" | "qemu", vmid: number): string {
  try {
    return readFileSync(
      path.join(clusterDir, "nodes", node, type === "lxc" ? "lxc" : "qemu-server", `${vmid}.conf`),
      "utf8",
    );
  } catch {
    return "";
  }
}
