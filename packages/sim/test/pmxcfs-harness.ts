import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { scratchDir, type TestScope } from "@lockstep/shared";
import { fuseSupport, type FuseSupport } from "../src/pmxcfs/fuse-support.js";
import { fuseMountAt } from "../src/pmxcfs/mount-table.js";
import { controlPmxcfs, type PmxcfsAction } from "../src/pmxcfs/pmxcfs-controller.js";
import { simPctBin } from "../src/index.js";
import { runExecutable, type PctRun } from "./sim-harness.js";

const PREREQS = fileURLToPath(new URL("../../../scripts/fuse-prereqs.sh", import.meta.url));
export const PMXCFS_BIN = fileURLToPath(new URL("../bin/lockstep-sim-pmxcfs.js", import.meta.url));

/** Installs fuse3 and python3-fusepy when missing (scripts/fuse-prereqs.sh), then says whether FUSE can be served. */
export function prepareFuse(): FuseSupport {
  const run = spawnSync("bash", [PREREQS], { stdio: ["ignore", "inherit", "inherit"], timeout: 600_000 });
  if (run.status !== 0) return { ok: false, reason: `scripts/fuse-prereqs.sh failed (${run.status ?? run.signal})` };
  return fuseSupport();
}

/** One node of a simulated cluster whose /etc/pve the simulated pmxcfs serves. */
export interface PmxcfsNode {
  readonly name: string;
  readonly root: string;
  readonly env: NodeJS.ProcessEnv;
  readonly pve: string;
  control(action: PmxcfsAction): Promise<string>;
  pct(args: string[]): Promise<PctRun>;
}

/**
 * A cluster directory with `names` as members, laid out as pve-cluster's Setup.pm
 * gen_local_dirs lays out each node (`nodes/<node>/{lxc,qemu-server,openvz,priv}`, `priv`),
 * and each node's own root with the directories the simulator keeps on local disk. Nothing is
 * mounted yet. The directories are scratch directories of `scope` (a file's SuiteScope), whose
 * teardown unmounts every node before they are removed; `suite.close()` belongs in a
 * `test.after.always` hook, after the unmount check (a control on a removed root would make it
 * again).
 */
export function pmxcfsCluster(names: string[], scope: TestScope): { cluster: string; nodes: PmxcfsNode[] } {
  const cluster = scratchDir(scope, "sim-cluster");
  mkdirSync(path.join(cluster, "priv"));
  const nodes = names.map((name) => pmxcfsNode(cluster, name, scratchDir(scope, `sim-${name}`)));
  // Registered after the directories: runs before they are removed.
  scope.teardown(() => unmountAll(nodes));
  return { cluster, nodes };
}

function pmxcfsNode(cluster: string, name: string, root: string): PmxcfsNode {
  for (const dir of ["lxc", "qemu-server", "openvz", "priv"])
    mkdirSync(path.join(cluster, "nodes", name, dir), { recursive: true });
  for (const dir of [
    "run/lock/lxc",
    "var/log/pve/tasks",
    "var/lib/lockstep-sim/ct",
    "var/lib/vz/template/cache",
    "etc/pve",
  ])
    mkdirSync(path.join(root, dir), { recursive: true });
  writeFileSync(path.join(root, "var/log/pve/tasks/active"), "");
  writeFileSync(path.join(root, "etc/hostname"), `${name}\n`);
  const env = { ...process.env, LOCKSTEP_SIM_ROOT: root, LOCKSTEP_SIM_NODE: name, LOCKSTEP_SIM_CLUSTER: cluster };
  return {
    name,
    root,
    env,
    pve: path.join(root, "etc/pve"),
    control: (action) => controlPmxcfs(action, env),
    pct: (args) => runExecutable(simPctBin, args, env),
  };
}

/** Unmounts every node (teardown: also after a failure); true when none is left mounted. */
export async function unmountAll(nodes: readonly PmxcfsNode[]): Promise<boolean> {
  for (const node of nodes) await node.control("unmount").catch(() => undefined);
  return nodes.every((node) => !fuseMountAt(node.pve));
}

/** A minimal container config, as pct create writes it, for tests that need a CT without creating one. */
export function ctConfig(hostname: string): string {
  return `arch: amd64\nhostname: ${hostname}\nmemory: 512\nostype: debian\nrootfs: local-lvm:vm-101-disk-0,size=4G\nswap: 512\n`;
}
