import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { parsePctArgs, parseVmid } from "../commands/pct-args.js";
import { randomMac } from "../node/mac-address.js";
import { PctError } from "../node/pct-error.js";
import { replaceFile } from "../node/replace-file.js";
import type { SimNode } from "../node/sim-node.js";
import { qemuConfigPath, vmidInUseMessage } from "../node/guest-of-vmid.js";

/**
 * The simulated `qm`: only what sharing the VMID space needs. VMs never run; their configs live
 * where Proxmox keeps them (`/etc/pve/nodes/<node>/qemu-server/<vmid>.conf`).
 */
export function qm(node: SimNode, argv: string[]): string {
  const [name, ...args] = argv;
  if (name === "create") return create(node, args);
  if (name === "destroy") return destroy(node, args);
  if (name === "list") return list(node);
  throw new PctError(`${name ? `unknown command 'qm ${name}'\n` : ""}USAGE: qm <COMMAND> [ARGS] [OPTIONS]`);
}

function create(node: SimNode, args: string[]): string {
  const { positionals, options } = parsePctArgs(args, ["vmid"], { values: ["name", "memory", "cores", "net0"] });
  const vmid = parseVmid(positionals[0]!);
  // pve-guest-common AbstractConfig.pm create_and_lock_config -> pve-cluster Cluster.pm check_vmid_unused.
  const used = vmidInUseMessage(node.layout, vmid);
  if (used) throw new PctError(`unable to create VM ${vmid} - ${used}`);
  const values: Record<string, string> = {
    memory: options.memory ?? "2048",
    cores: options.cores ?? "1",
    meta: `creation-qemu=9.2.0,ctime=${Math.floor(Date.now() / 1000)}`,
  };
  if (options.name) values.name = options.name;
  if (options.net0) values.net0 = options.net0.includes("=") ? options.net0 : `virtio=${randomMac()},bridge=vmbr0`;
  // pmxcfs gives every cluster node its `qemu-server/` directory; a node laid out before the
  // simulator knew VMs may lack it.
  mkdirSync(node.layout.qemuDir, { recursive: true });
  replaceFile(
    qemuConfigPath(node.layout, vmid),
    Object.keys(values)
      .sort()
      .map((k) => `${k}: ${values[k]}\n`)
      .join(""),
  );
  return "";
}

function destroy(node: SimNode, args: string[]): string {
  const vmid = parseVmid(parsePctArgs(args, ["vmid"], { booleans: ["purge"] }).positionals[0]!);
  const file = qemuConfigPath(node.layout, vmid);
  if (!existsSync(file))
    throw new PctError(`Configuration file 'nodes/${node.name}/qemu-server/${vmid}.conf' does not exist`);
  rmSync(file);
  return "";
}

/** `qm list`: qemu-server's `%10s %-20s %-10s %-10s %12s %-10s` table; every VM is stopped here. */
function list(node: SimNode): string {
  const dir = node.layout.qemuDir;
  const vmids = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /^\d+\.conf$/.test(f))
        .map((f) => Number(f.slice(0, -5)))
        .sort((a, b) => a - b)
    : [];
  if (vmids.length === 0) return "";
  const row = (id: string, name: string, status: string, mem: string, disk: string, pid: string): string =>
    `${id.padStart(10)} ${name.padEnd(20)} ${status.padEnd(10)} ${mem.padEnd(10)} ${disk.padStart(12)} ${pid.padEnd(10)}\n`;
  let out = row("VMID", "NAME", "STATUS", "MEM(MB)", "BOOTDISK(GB)", "PID");
  for (const vmid of vmids) {
    const text = readFileSync(qemuConfigPath(node.layout, vmid), "utf8");
    const value = (k: string): string | undefined => new RegExp(`^${k}: (.*)$`, "m").exec(text)?.[1];
    out += row(String(vmid), value("name") ?? `VM ${vmid}`, "stopped", value("memory") ?? "2048", "0.00", "0");
  }
  return out;
}
