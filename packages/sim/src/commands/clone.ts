import { cpSync, existsSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { checkNotLocked, configExists, newSection, readConfig, removeConfig, writeConfig, type CtConfig, type Section } from "../node/ct-config.js";
import { randomMac } from "../node/mac-address.js";
import { PctError } from "../node/pct-error.js";
import { readRuntime } from "../node/runtime-state.js";
import { rootfsPath } from "../node/sim-layout.js";
import { Task } from "../node/tasks.js";
import { checkDnsName, parsePctArgs, parseVmid } from "./pct-args.js";
import { withConfigLock, type SimContext } from "./sim-context.js";

// What a clone never takes over: lock and snapshot bookkeeping, and the template flag.
const NOT_COPIED = ["lock", "parent", "snaptime", "snapstate", "template", "digest"];

/** The new CT's config as written before the copy, and what the copy needs. */
interface Prepared {
  readonly config: CtConfig;
  /** The source's root volume (`storage:name`), if it has one. */
  readonly volume: string | undefined;
  readonly full: boolean;
}

/**
 * `pct clone <vmid> <newid>`, in pve-container's order: the new VMID is reserved with a
 * `lock: create` placeholder (5 s flock), the source gets `lock: disk`, the new config (the
 * source's or the snapshot's, still holding `lock: create`) is written, and then the copy
 * runs as a `vzclone` task listed under the SOURCE's VMID. The flocks are held only for
 * those config writes; the copy is guarded by the two `lock:` properties alone, so a crash
 * midway leaves both behind, as on Proxmox.
 */
export function clone(ctx: SimContext, args: string[]): string {
  const { positionals, options } = parsePctArgs(args, ["vmid", "newid"], { values: ["hostname", "description", "snapname", "storage"], booleans: ["full"] });
  const vmid = parseVmid(positionals[0]!);
  const newid = parseVmid(positionals[1]!, "newid");
  if (options.hostname !== undefined) checkDnsName("hostname", options.hostname);
  const { layout, name: node } = ctx.node;
  readConfig(layout, node, vmid);
  const exists = `CT ${newid} already exists on node '${node}'`;
  if (configExists(layout, newid)) throw new PctError(exists);
  withConfigLock(ctx, newid, () => {
    if (configExists(layout, newid)) throw new PctError(exists);
    writeConfig(layout, newid, { main: newSection({ lock: "create" }), snapshots: new Map() });
  }, 5);
  let prepared: Prepared;
  try {
    const source = withConfigLock(ctx, vmid, () => {
      const conf = readConfig(layout, node, vmid);
      checkNotLocked(conf);
      conf.main.values.lock = "disk";
      writeConfig(layout, vmid, conf);
      return conf;
    });
    try {
      prepared = prepare(ctx, vmid, source, options);
      withCreateLock(ctx, newid, () => prepared.config);
    } catch (err) {
      removeDiskLock(ctx, vmid);
      throw err;
    }
  } catch (err) {
    dropNewConfig(ctx, newid);
    throw err;
  }
  return copy(ctx, vmid, newid, prepared, options.storage);
}

/** The new config: the source's (or its snapshot's), with a fresh MAC per NIC and the new name. */
function prepare(ctx: SimContext, vmid: number, source: CtConfig, options: Record<string, string>): Prepared {
  const full = options.full !== undefined ? options.full === "1" : source.main.values.template !== "1";
  if (options.storage !== undefined && !full) throw new PctError("parameter 'storage' not allowed for linked clones");
  const snapname = options.snapname;
  const from: Section | undefined = snapname !== undefined ? source.snapshots.get(snapname) : source.main;
  if (!from) throw new PctError(`snapshot '${snapname}' does not exist`);
  const volume = from.values.rootfs?.split(",")[0];
  if (full && snapname === undefined && readRuntime(ctx.node.layout, vmid).running) throw new PctError("Cannot do full clones on a running container without snapshots");
  if (!full && volume !== undefined && source.main.values.template !== "1") throw new PctError(`Linked clone feature for '${volume}' is not available`);
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(from.values)) {
    if (NOT_COPIED.includes(key)) continue;
    // Proxmox always gives a clone's NICs new addresses.
    values[key] = /^net\d+$/.test(key) ? value.replace(/hwaddr=[0-9A-Fa-f:]+/, `hwaddr=${randomMac()}`) : value;
  }
  values.lock = "create";
  if (options.hostname) values.hostname = options.hostname;
  const section = newSection(values, options.description || from.description);
  section.lxc = from.lxc.map(([key, value]) => [key, value]);
  return { config: { main: section, snapshots: new Map() }, volume, full };
}

/** The worker: copies the root filesystem, points the new rootfs at it, drops both locks. */
function copy(ctx: SimContext, vmid: number, newid: number, prepared: Prepared, storage: string | undefined): string {
  const { layout, name: node } = ctx.node;
  const task = new Task(layout, node, "vzclone", vmid);
  let out = "";
  try {
    if (prepared.volume !== undefined) {
      const [sourceStorage] = prepared.volume.split(":");
      const target = prepared.full ? `${storage ?? sourceStorage}:vm-${newid}-disk-0` : `${sourceStorage}:base-${vmid}-disk-0/vm-${newid}-disk-0`;
      out += prepared.full ? `create full clone of mountpoint rootfs (${prepared.volume})\n` : `create linked clone of mount point rootfs (${prepared.volume})\n`;
      out += `  Logical volume "vm-${newid}-disk-0" created.\n`;
      ctx.fault.at("midway");
      const from = rootfsPath(layout, vmid);
      const to = rootfsPath(layout, newid);
      // The simulator keeps no per-snapshot file system: a snapshot's clone copies the current one.
      if (existsSync(from)) cpSync(from, to, { recursive: true, verbatimSymlinks: true });
      if (existsSync(path.join(to, "etc"))) writeFileSync(path.join(to, "etc/hostname"), `${prepared.config.main.values.hostname ?? `CT${newid}`}\n`);
      const rest = prepared.config.main.values.rootfs!.slice(prepared.volume.length);
      withCreateLock(ctx, newid, (conf) => {
        conf.main.values.rootfs = `${target}${rest}`;
        return conf;
      });
    } else {
      ctx.fault.at("midway");
    }
    withCreateLock(ctx, newid, (conf) => {
      delete conf.main.values.lock;
      return conf;
    });
  } catch (err) {
    removeDiskLock(ctx, vmid);
    // A failed worker frees what it made and drops the new config, as Proxmox's does.
    rmSync(path.dirname(rootfsPath(layout, newid)), { recursive: true, force: true });
    dropNewConfig(ctx, newid);
    const message = `clone failed: ${err instanceof Error ? err.message : String(err)}`;
    task.finish(message);
    throw new PctError(message, err instanceof PctError ? err.exitCode : 255);
  }
  removeDiskLock(ctx, vmid);
  task.finish("OK");
  return out;
}

/**
 * Rewrites the new CT's config under its flock, as Proxmox's `lock_and_reload` does: the
 * `lock: create` must still be there, or someone cleared it and the clone gives up.
 */
function withCreateLock(ctx: SimContext, newid: number, change: (conf: CtConfig) => CtConfig): void {
  const { layout, name: node } = ctx.node;
  withConfigLock(ctx, newid, () => {
    const conf = configExists(layout, newid) ? readConfig(layout, node, newid) : null;
    if (conf?.main.values.lock !== "create") throw new PctError("Lost 'create' config lock, aborting.");
    writeConfig(layout, newid, change(conf));
  });
}

/** Removes the new CT's config, but only while it still holds `lock: create` (it is still this clone's). */
function dropNewConfig(ctx: SimContext, newid: number): void {
  const { layout, name: node } = ctx.node;
  withConfigLock(ctx, newid, () => {
    if (configExists(layout, newid) && readConfig(layout, node, newid).main.values.lock === "create") removeConfig(layout, newid);
  });
}

function removeDiskLock(ctx: SimContext, vmid: number): void {
  const { layout, name: node } = ctx.node;
  withConfigLock(ctx, vmid, () => {
    const conf = readConfig(layout, node, vmid);
    if (conf.main.values.lock !== "disk") return;
    delete conf.main.values.lock;
    writeConfig(layout, vmid, conf);
  });
}
