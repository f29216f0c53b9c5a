import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { bootSystemd } from "../container/systemd.js";
import { configExists, newSection, removeConfig, writeConfig, type CtConfig } from "../node/ct-config.js";
import { randomMac } from "../node/mac-address.js";
import { PctError, parameterError } from "../node/pct-error.js";
import { updateRuntime } from "../node/runtime-state.js";
import { rootfsPath } from "../node/sim-layout.js";
import { Task } from "../node/tasks.js";
import { checkDnsName, parsePctArgs, parseVmid } from "./pct-args.js";
import { lockConfig, type SimContext } from "./sim-context.js";

const VALUE_OPTIONS = ["hostname", "storage", "rootfs", "memory", "swap", "cores", "net0", "features", "tags", "description", "arch", "ostype", "password", "ssh-public-keys", "nameserver", "searchdomain", "timezone"];
const BOOLEAN_OPTIONS = ["unprivileged", "start", "onboot", "protection", "force"];

/** `pct create <vmid> <template> [options]`. */
export function create(ctx: SimContext, args: string[]): string {
  const { positionals, options } = parsePctArgs(args, ["vmid", "ostemplate"], { values: VALUE_OPTIONS, booleans: BOOLEAN_OPTIONS });
  const vmid = parseVmid(positionals[0]!);
  validate(options);
  const { layout, name: node } = ctx.node;
  if (configExists(layout, vmid)) throw new PctError(`CT ${vmid} already exists on node '${node}'`);
  const lock = lockConfig(ctx, vmid, 5);
  try {
    if (configExists(layout, vmid)) throw new PctError(`unable to create CT ${vmid} - CT ${vmid} already exists on node '${node}'`);
    // The VMID reservation: a placeholder config holding only the lock.
    writeConfig(layout, vmid, { main: newSection({ lock: "create" }), snapshots: new Map() });
    const task = new Task(layout, node, "vzcreate", vmid);
    try {
      const out = buildContainer(ctx, vmid, positionals[1]!, options);
      task.finish("OK");
      if (options.start === "1") startNow(ctx, vmid);
      return out;
    } catch (err) {
      // A failed worker removes what it made, as Proxmox's create does.
      rmSync(path.dirname(rootfsPath(layout, vmid)), { recursive: true, force: true });
      if (configExists(layout, vmid)) removeConfig(layout, vmid);
      const message = err instanceof PctError ? err.message : String(err);
      task.finish(`unable to create CT ${vmid} - ${message}`);
      throw new PctError(`unable to create CT ${vmid} - ${message}`, err instanceof PctError ? err.exitCode : 255);
    }
  } finally {
    lock.release();
  }
}

function buildContainer(ctx: SimContext, vmid: number, template: string, options: Record<string, string>): string {
  const { layout } = ctx.node;
  const match = /^([a-zA-Z0-9_.-]+):vztmpl\/(.+)$/.exec(template);
  const file = match && match[1] === "local" ? path.join(layout.templateCache, match[2]!) : null;
  if (!file || !existsSync(file)) throw new PctError(`volume '${template}' does not exist`);
  const storage = options.storage ?? "local-lvm";
  const rootfs = rootfsPath(layout, vmid);
  let out = `  Logical volume "vm-${vmid}-disk-0" created.\n`;
  out += `Creating filesystem with 2097152 4k blocks and 524288 inodes\n`;
  out += `extracting archive '/var/lib/vz/template/cache/${match![2]}'\n`;
  ctx.fault.at("midway");
  layOutRootfs(rootfs, options.hostname ?? `CT${vmid}`);
  out += `Total bytes read: 524503040 (501MiB, 180MiB/s)\nDetected container architecture: amd64\n`;
  const values: Record<string, string> = {
    arch: options.arch ?? "amd64",
    cores: options.cores ?? "1",
    hostname: options.hostname ?? `CT${vmid}`,
    memory: options.memory ?? "512",
    ostype: options.ostype ?? (match![2]!.startsWith("ubuntu") ? "ubuntu" : "debian"),
    rootfs: `${storage}:vm-${vmid}-disk-0,size=${sizeOf(options.rootfs)}G`,
    swap: options.swap ?? "512",
  };
  values.net0 = options.net0 ? withHwaddr(options.net0) : "";
  for (const key of ["features", "tags", "onboot", "protection", "unprivileged"]) if (options[key] !== undefined) values[key] = options[key]!;
  if (!values.net0) delete values.net0;
  const config: CtConfig = { main: newSection(values, options.description ?? ""), snapshots: new Map() };
  writeConfig(layout, vmid, config);
  return out;
}

function layOutRootfs(rootfs: string, hostname: string): void {
  for (const dir of ["etc/systemd/system", "lib/systemd/system", "usr/bin", "usr/sbin", "usr/local/bin", "root", "tmp", "var/log", "opt"]) mkdirSync(path.join(rootfs, dir), { recursive: true });
  writeFileSync(path.join(rootfs, "etc/hostname"), `${hostname}\n`);
  writeFileSync(path.join(rootfs, "etc/os-release"), 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n');
  writeFileSync(path.join(rootfs, "etc/shadow"), "root:*:19000:0:99999:7:::\n", { mode: 0o640 });
}

function startNow(ctx: SimContext, vmid: number): void {
  updateRuntime(ctx.node.layout, vmid, (s) => {
    s.running = true;
    s.startedAt = Date.now();
  });
  bootSystemd(ctx.node.layout, vmid, rootfsPath(ctx.node.layout, vmid));
}

function sizeOf(rootfs: string | undefined): string {
  const size = rootfs ? /(?:^|:|size=)(\d+)(?:G)?$/.exec(rootfs)?.[1] : undefined;
  return size ?? "8";
}

function withHwaddr(net0: string): string {
  if (/hwaddr=/.test(net0)) return net0;
  return net0.replace(/^(name=[^,]+)/, `$1,hwaddr=${randomMac()}`);
}

function validate(options: Record<string, string>): void {
  if (options.hostname !== undefined) checkDnsName("hostname", options.hostname);
  for (const key of ["memory", "swap", "cores"]) {
    if (options[key] !== undefined && !/^\d+$/.test(options[key]!)) throw parameterError(key, `type check ('integer') failed - got '${options[key]}'`);
  }
  if (options.cores !== undefined && (Number(options.cores) < 1 || Number(options.cores) > 8192)) throw parameterError("cores", "value must have a minimum value of 1");
  if (options.memory !== undefined && Number(options.memory) < 16) throw parameterError("memory", "value must have a minimum value of 16");
  if (options.tags !== undefined && !options.tags.split(/[;, ]/).every((t) => /^[a-z0-9_][a-z0-9_+.-]*$/i.test(t))) throw parameterError("tags", "invalid format - invalid tag");
}
