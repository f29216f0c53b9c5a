import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { SimContext } from "../commands/sim-context.js";
import { PctError } from "../node/pct-error.js";
import { simLayout } from "../node/sim-layout.js";
import type { SimNode } from "../node/sim-node.js";
import { memberIp, memberRoot } from "./cluster-members.js";

const PCT_BIN = fileURLToPath(new URL("../../bin/lockstep-sim-pct.js", import.meta.url));

/** Who a `pct` run by the simulator on another node says it is (LOCKSTEP_SIM_CALLER). */
export const MIGRATE_CALLER = "proxmox-migrate";

// What a new ssh login does not carry: this call's fault rules, its task plan, its rpcenv type.
const NOT_CARRIED = new Set(["LOCKSTEP_SIM_FAULTS", "LOCKSTEP_SIM_TASK_PLAN", "LOCKSTEP_SIM_RPCENV"]);

/** Another member of this node's cluster, as migrate reaches it (over ssh on Proxmox). */
export interface RemoteNode {
  readonly name: string;
  readonly root: string;
  readonly ip: string;
}

/** The cluster member `name` (its root from the cluster's records), or an error when it never joined. */
export function remoteNode(node: SimNode, name: string): RemoteNode {
  const root = node.cluster ? memberRoot(node.cluster, name) : null;
  if (!node.cluster || root === null) throw new PctError(`no such cluster node '${name}'`);
  return { name, root, ip: memberIp(node.cluster, name) };
}

/** The remote node as a SimNode of its own (its layout), for the files migrate writes there. */
export function remoteSimNode(local: SimNode, remote: RemoteNode): SimNode {
  return { ...local, name: remote.name, layout: simLayout(remote.root, remote.name) };
}

/**
 * pve-cluster src/PVE/SSHInfo.pm ssh_info_to_command: `/usr/bin/ssh -e none -o BatchMode=yes
 * -o HostKeyAlias=<node> root@<ip>` (the known_hosts options only when
 * `/etc/pve/nodes/<node>/ssh_known_hosts` exists, which the simulator never writes).
 */
export function sshCommand(remote: RemoteNode): string[] {
  return [
    "/usr/bin/ssh",
    "-e",
    "none",
    "-o",
    "BatchMode=yes",
    "-o",
    `HostKeyAlias=${remote.name}`,
    `root@${remote.ip}`,
  ];
}

/** pve-common PVE/Cmd.pm to_string: each argument through String::ShellQuote's shell_quote. */
export function commandString(argv: readonly string[]): string {
  return argv
    .map((a) => (a === "" ? "''" : /[^\w!%+,\-./:@^]/.test(a) ? `'${a.replace(/'/g, "'\\''")}'` : a))
    .join(" ");
}

/**
 * Runs `pct <args>` on the remote node, as migrate's `ssh root@<ip> pct ...` does: the
 * simulator's pct with that node's root and name and a fresh environment of the simulator's
 * settings (no fault rules of this call: ssh starts a new login). Returns its status and
 * output lines (stdout and stderr, as run_command's outfunc and errfunc get them).
 */
export function runRemotePct(ctx: SimContext, remote: RemoteNode, args: string[]): { status: number; lines: string[] } {
  const env: NodeJS.ProcessEnv = { PATH: ctx.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" };
  for (const [key, value] of Object.entries(ctx.env))
    if (/^LOCKSTEP_SIM_/.test(key) && !NOT_CARRIED.has(key)) env[key] = value;
  Object.assign(env, {
    LOCKSTEP_SIM_ROOT: remote.root,
    LOCKSTEP_SIM_NODE: remote.name,
    LOCKSTEP_SIM_CALLER: MIGRATE_CALLER,
  });
  const result = spawnSync(process.execPath, [PCT_BIN, ...args], {
    env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (result.error) throw result.error;
  const lines = `${result.stdout}${result.stderr}`.split("\n").filter(Boolean);
  return { status: result.status ?? 255, lines };
}
