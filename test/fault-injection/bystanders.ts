import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { simLayout, simPctBin } from "@lockstep/sim";
import { TEMPLATE } from "../support/app-spec.js";

const run = promisify(execFile);
const SIM_BIN = (name: string): string => fileURLToPath(new URL(`../../packages/sim/bin/lockstep-sim-${name}.js`, import.meta.url));

/** Who the simulators' call logs name for the scenario's own `pct`, `vzdump` and `qm` runs. */
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
 * Runs a node tool as an operator at the node's shell would: `pct`, `vzdump` or `qm` of the
 * simulator, with LOCKSTEP_SIM_CALLER set so the call log tells these calls from the agent's.
 */
export async function asOperator(root: string, node: string, tool: "pct" | "vzdump" | "qm", args: string[], env: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  const bin = tool === "pct" ? simPctBin : SIM_BIN(tool);
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { env: { ...process.env, LOCKSTEP_SIM_ROOT: root, LOCKSTEP_SIM_NODE: node, LOCKSTEP_SIM_CALLER: OPERATOR, ...env } });
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === "number" ? failed.code : 255, output: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
  }
}

/**
 * Someone else's guests on every node before the workload starts: one running container
 * outside the API's VMID range per node, and QEMU VMs INSIDE the range (10001, 10004), each
 * owned by one node and visible from all, as pmxcfs shows every node's `qemu-server/`
 * (pve-cluster memdb.c vmlist): the API must skip those VMIDs on every node.
 */
export async function placeBystanders(roots: ReadonlyMap<string, string>): Promise<Bystander[]> {
  const nodes = [...roots.keys()];
  const placed: Bystander[] = [];
  for (const [i, node] of nodes.entries()) {
    const vmid = 900 + i;
    const made = await asOperator(roots.get(node)!, node, "pct", ["create", String(vmid), TEMPLATE, "--storage", "local-lvm", "--hostname", `theirs-${i}`, "--tags", "customer-a", "--start", "1"]);
    if (made.code !== 0) throw new Error(`placing a foreign container on ${node}: ${made.output}`);
    placed.push({ node, vmid, type: "lxc", config: configText(roots.get(node)!, node, "lxc", vmid) });
  }
  for (const [i, vmid] of [10001, 10004].entries()) {
    const owner = nodes[i % nodes.length]!;
    // Written on every node's root under the owner's directory: the cluster-wide view.
    for (const root of roots.values()) {
      const made = await asOperator(root, owner, "qm", ["create", String(vmid), "--name", `vm-${vmid}`]);
      if (made.code !== 0) throw new Error(`placing VM ${vmid}: ${made.output}`);
    }
    placed.push({ node: owner, vmid, type: "qemu", config: configText(roots.get(owner)!, owner, "qemu", vmid) });
  }
  return placed;
}

/** A guest's config file on its node. */
export function configText(root: string, node: string, type: "lxc" | "qemu", vmid: number): string {
  const layout = simLayout(root, node);
  const file = type === "lxc" ? path.join(layout.nodesDir, `${vmid}.conf`) : path.join(layout.qemuDir, `${vmid}.conf`);
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}
