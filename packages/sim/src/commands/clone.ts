import { cpSync, existsSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  checkNotLocked,
  configExists,
  newSection,
  readConfig,
  removeConfig,
  writeConfig,
  type CtConfig,
  type Section,
} from "../node/ct-config.js";
import { randomMac } from "../node/mac-address.js";
import { PctError } from "../node/pct-error.js";
import { readRuntime } from "../node/runtime-state.js";
import { rootfsPath } from "../node/sim-layout.js";
import { readStorageConfig, storageEntry } from "../storage/storage-config.js";
import { volumeHasFeature } from "../storage/volume-features.js";
import { allocVolume, freeVolume, parseVolid, readVolume, volumeStorage } from "../storage/volumes.js";
import { taskCommand, type TaskIo } from "../tasks/task-command.js";
import { checkVmidUnused } from "./check-vmid-unused.js";
import { checkDnsName, parsePctArgs, parseVmid } from "./pct-args.js";
import { withConfigLock, type SimContext } from "./sim-context.js";
import { sectionVolumes } from "./snapshot-volumes.js";
import { checkCfsQuorum } from "../pmxcfs/quorum.js";
import { copyTakingTime } from "../storage/copy-taking-time.js";

// clone_vm: "delete all snapshot related config options", pending and template.
const NOT_COPIED = /^(lock|parent|snaptime|snapstate|template|digest|unused\d+)$/;

interface ClonePlan {
  readonly vmid: number;
  readonly newid: number;
  readonly snapname: string | null;
  readonly storage: string | null;
  readonly full: boolean;
  readonly running: boolean;
  /** The volume mount points to copy: key, source volume, size in GB, the rest of its property string. */
  readonly mountpoints: { key: string; volid: string; sizeGb: number; rest: string }[];
}

/**
 * `pct clone <vmid> <newid>`, in pve-container API2/LXC.pm `clone_vm`'s order. In the pct
 * process: set_lock(source, 'disk'), then create_and_lock_config(newid) (a `lock: create`
 * placeholder), the checks, and the new config written under lock_and_reload. The `vzclone`
 * worker, listed under the SOURCE VMID, copies each volume (taking time in proportion to its
 * size, LOCKSTEP_SIM_COPY_MS_PER_GB), updating the new config under its flock only for each write
 * (lock_and_reload: `Lost 'create' config lock, aborting.`), then removes the source's `disk`
 * lock and the target's `create` lock; on an error it frees the new volumes and the new config.
 */
export const clone = taskCommand<ClonePlan>({
  before(ctx, args) {
    const { positionals, options } = parsePctArgs(args, ["vmid", "newid"], {
      values: ["hostname", "description", "snapname", "storage"],
      booleans: ["full"],
    });
    const vmid = parseVmid(positionals[0]!);
    const newid = parseVmid(positionals[1]!, "newid");
    if (options.hostname !== undefined) checkDnsName("hostname", options.hostname);
    const { layout } = ctx.node;
    if (options.storage !== undefined) storageEntry(readStorageConfig(layout), options.storage);
    checkCfsQuorum(layout);
    const source = setDiskLock(ctx, vmid);
    try {
      withConfigLock(
        ctx,
        newid,
        () => {
          checkVmidUnused(layout, newid);
          writeConfig(layout, newid, { main: newSection({ lock: "create" }), snapshots: new Map() });
        },
        5,
      );
    } catch (err) {
      removeDiskLock(ctx, vmid, null);
      throw err;
    }
    try {
      const { plan, config } = prepare(ctx, vmid, newid, source, options);
      lockAndReload(ctx, newid, () => config);
      return { type: "vzclone", id: String(vmid), prepared: plan };
    } catch (err) {
      removeDiskLock(ctx, vmid, null);
      try {
        lockAndReload(ctx, newid, () => null);
      } catch (cleanup) {
        process.stderr.write(`Failed to remove target CT config - ${(cleanup as Error).message}\n`);
      }
      throw err;
    }
  },
  body(ctx, plan, io) {
    io.print(`creating a clone of container ${plan.vmid} with ID ${plan.newid}\n`);
    if ((readRuntime(ctx.node.layout, plan.vmid).running ? 1 : 0) !== (plan.running ? 1 : 0))
      throw new PctError("unexpected state change");
    const created: string[] = [];
    let failure: unknown = null;
    try {
      for (const mp of plan.mountpoints) copyMountpoint(ctx, plan, mp, io, created);
      lockAndReload(ctx, plan.newid, (conf) => {
        postCloneHook(ctx, plan.newid, conf);
        return conf;
      });
    } catch (err) {
      failure = err;
    }
    removeDiskLock(ctx, plan.vmid, io);
    if (failure !== null) cleanUp(ctx, plan, created, failure, io);
    lockAndReload(ctx, plan.newid, (conf) => {
      delete conf.main.values.lock;
      return conf;
    });
  },
});

/** clone_vm's checks and the new config (the source's or its snapshot's, fresh MACs, `lock: create`). */
function prepare(
  ctx: SimContext,
  vmid: number,
  newid: number,
  source: CtConfig,
  options: Record<string, string>,
): { plan: ClonePlan; config: CtConfig } {
  const running = readRuntime(ctx.node.layout, vmid).running;
  const full = options.full !== undefined ? options.full === "1" : source.main.values.template !== "1";
  if (options.storage !== undefined && !full) throw new PctError("parameter 'storage' not allowed for linked clones");
  const snapname = options.snapname ?? null;
  if (snapname !== null && !source.snapshots.has(snapname)) throw new PctError(`snapshot '${snapname}' does not exist`);
  const from: Section = snapname !== null ? source.snapshots.get(snapname)! : source.main;
  const storages = readStorageConfig(ctx.node.layout);
  const mountpoints: ClonePlan["mountpoints"] = [];
  const values: Record<string, string> = {};
  for (const key of Object.keys(from.values).sort()) {
    const value = from.values[key]!;
    if (NOT_COPIED.test(key)) continue;
    values[key] = /^net\d+$/.test(key) ? value.replace(/hwaddr=[0-9A-Fa-f:]+/, `hwaddr=${randomMac()}`) : value;
  }
  for (const [key, volid] of sectionVolumes(from)) {
    if (full) {
      if (running && snapname === null)
        throw new PctError(
          ctx.node.pve === 8
            ? "Cannot do full clones on a running container without snapshots"
            : "Full clone of a running container is only possible from a snapshot",
        );
    } else if (
      !volumeHasFeature(volumeStorage(storages, volid).type, "clone", parseVolid(volid).volname, snapname ?? undefined)
    ) {
      throw new PctError(`Linked clone feature for '${volid}' is not available`);
    }
    const rest = from.values[key]!.slice(volid.length).replace(/,size=[^,]*/, "");
    mountpoints.push({ key, volid, sizeGb: sizeGb(ctx, from.values[key]!, volid), rest });
  }
  values.lock = "create";
  if (options.hostname) values.hostname = options.hostname;
  const section = newSection(values, options.description || from.description);
  section.lxc = from.lxc.map(([k, v]) => [k, v]);
  return {
    plan: { vmid, newid, snapname, storage: options.storage ?? null, full, running, mountpoints },
    config: { main: section, snapshots: new Map() },
  };
}

/** One volume: copy_volume (full: a new disk, filled at the set speed) or vdisk_clone (linked). */
function copyMountpoint(
  ctx: SimContext,
  plan: ClonePlan,
  mp: ClonePlan["mountpoints"][number],
  io: TaskIo,
  created: string[],
): void {
  const { layout } = ctx.node;
  const sourceStorage = parseVolid(mp.volid).storage;
  const target = storageEntry(readStorageConfig(layout), plan.full ? (plan.storage ?? sourceStorage) : sourceStorage);
  io.print(
    plan.full
      ? `create full clone of mountpoint ${mp.key} (${mp.volid})\n`
      : `create linked clone of mount point ${mp.key} (${mp.volid})\n`,
  );
  const newvolid = allocVolume(layout, target, plan.newid, mp.sizeGb);
  created.push(newvolid);
  if (target.type === "lvm" || target.type === "lvmthin")
    io.print(`  Logical volume "${parseVolid(newvolid).volname}" created.\n`);
  ctx.fault.at("midway");
  if (plan.full) copyTakingTime(mp.sizeGb, io, ctx.env);
  // The simulator keeps one file tree per CT: a clone (of a snapshot too) copies the current one.
  if (mp.key === "rootfs" && existsSync(rootfsPath(layout, plan.vmid)))
    cpSync(rootfsPath(layout, plan.vmid), rootfsPath(layout, plan.newid), { recursive: true, verbatimSymlinks: true });
  lockAndReload(ctx, plan.newid, (conf) => {
    conf.main.values[mp.key] = `${newvolid}${mp.rest},size=${mp.sizeGb}G`;
    return conf;
  });
}

/** LXC/Setup `post_clone_hook`: the new hostname inside the copy. */
function postCloneHook(ctx: SimContext, newid: number, conf: CtConfig): void {
  const etc = path.join(rootfsPath(ctx.node.layout, newid), "etc");
  if (existsSync(etc))
    writeFileSync(path.join(etc, "hostname"), `${(conf.main.values.hostname ?? `CT${newid}`).replace(/\..*$/, "")}\n`);
}

/** clone_vm's worker error path: `sleep 1`, free the new volumes, destroy the new config, `clone failed: <err>`. */
function cleanUp(ctx: SimContext, plan: ClonePlan, created: string[], failure: unknown, io: TaskIo): never {
  io.sleep(1000);
  for (const volid of created) freeVolume(ctx.node.layout, volid);
  rmSync(path.dirname(rootfsPath(ctx.node.layout, plan.newid)), { recursive: true, force: true });
  try {
    lockAndReload(ctx, plan.newid, () => null);
  } catch (err) {
    io.print(`Failed to remove target CT config - ${(err as Error).message}\n`);
  }
  const message = failure instanceof Error ? failure.message : String(failure);
  throw new PctError(`clone failed: ${message}`, failure instanceof PctError ? failure.exitCode : 255);
}

/** clone_vm's `$lock_and_reload`: under the target's flock, its `lock: create` must still be there; null removes the config. */
function lockAndReload(ctx: SimContext, newid: number, change: (conf: CtConfig) => CtConfig | null): void {
  const { layout, name: node } = ctx.node;
  withConfigLock(ctx, newid, () => {
    const conf = configExists(layout, newid) ? readConfig(layout, node, newid) : null;
    if (conf?.main.values.lock !== "create") throw new PctError("Lost 'create' config lock, aborting.");
    const next = change(conf);
    if (next === null) removeConfig(layout, newid);
    else writeConfig(layout, newid, next);
  });
}

/** AbstractConfig.pm `set_lock`: check_lock, then `lock: disk`; returns the config as it was. */
function setDiskLock(ctx: SimContext, vmid: number): CtConfig {
  const { layout, name: node } = ctx.node;
  return withConfigLock(ctx, vmid, () => {
    const conf = readConfig(layout, node, vmid);
    checkNotLocked(conf);
    writeConfig(layout, vmid, { ...conf, main: { ...conf.main, values: { ...conf.main.values, lock: "disk" } } });
    return conf;
  });
}

/** AbstractConfig.pm `remove_lock($vmid, 'disk')`, whose failure clone_vm only warns about. */
function removeDiskLock(ctx: SimContext, vmid: number, io: TaskIo | null): void {
  const { layout, name: node } = ctx.node;
  withConfigLock(ctx, vmid, () => {
    const conf = readConfig(layout, node, vmid);
    const lock = conf.main.values.lock;
    if (lock !== "disk") {
      const warning = lock
        ? `found lock '${lock}' trying to remove 'disk' lock`
        : "no lock found trying to remove 'disk' lock";
      if (io) io.print(`${warning}\n`);
      else process.stderr.write(`Failed to remove source CT config lock - ${warning}\n`);
      return;
    }
    delete conf.main.values.lock;
    writeConfig(layout, vmid, conf);
  });
}

function sizeGb(ctx: SimContext, value: string, volid: string): number {
  const size = /,size=(\d+(?:\.\d+)?)([KMGT]?)/.exec(value);
  if (size)
    return (
      Number(size[1]) *
      { "": 1 / 1024 ** 3, K: 1 / 1024 ** 2, M: 1 / 1024, G: 1, T: 1024 }[size[2] as "" | "K" | "M" | "G" | "T"]
    );
  return readVolume(ctx.node.layout, volid)?.sizeGb ?? 4;
}
