import { mkdirSync } from "node:fs";
import path from "node:path";
import { acquireFlock } from "../locking/flock.js";
import { checkNotLocked, readConfig, writeConfig, type CtConfig, type Section } from "../node/ct-config.js";
import { PctError } from "../node/pct-error.js";
import { deleteVolumeSnapshot } from "../storage/volumes.js";
import { taskCommand, type TaskIo } from "../tasks/task-command.js";
import { parsePctArgs, parseVmid } from "./pct-args.js";
import { withConfigLock, type SimContext } from "./sim-context.js";
import { sectionVolumes } from "./snapshot-volumes.js";

interface DelsnapshotPlan {
  readonly vmid: number;
  readonly snapname: string;
  readonly force: boolean;
}

/** pve-guest-common GuestHelpers.pm: `$lockdir = '/var/lock/pve-manager'`, `pve-migrate-<vmid>`. */
export function migrationLockPath(root: string, vmid: number): string {
  return path.join(root, "var/lock/pve-manager", `pve-migrate-${vmid}`);
}

/**
 * `pct delsnapshot <vmid> <name> [--force]`: a `vzdelsnapshot` worker. Without --force it runs
 * under pve-guest-common GuestHelpers.pm `guest_migration_lock` (10 s), failing with
 * API2/LXC/Snapshot.pm's `Failed to obtain guest migration lock - replication running?`.
 */
export const delsnapshot = taskCommand<DelsnapshotPlan>({
  before(_ctx, args) {
    const { positionals, options } = parsePctArgs(args, ["vmid", "snapname"], { booleans: ["force"] });
    const vmid = parseVmid(positionals[0]!);
    return {
      type: "vzdelsnapshot",
      id: String(vmid),
      prepared: { vmid, snapname: positionals[1]!, force: options.force === "1" },
    };
  },
  body(ctx, plan, io) {
    if (plan.force) return snapshotDelete(ctx, plan.vmid, plan.snapname, true, null, io);
    const file = migrationLockPath(ctx.node.layout.root, plan.vmid);
    mkdirSync(path.dirname(file), { recursive: true });
    const lock = acquireFlock(file, ctx.node.lockTimeoutS ?? 10, true);
    if (!lock) throw new PctError("Failed to obtain guest migration lock - replication running?");
    try {
      snapshotDelete(ctx, plan.vmid, plan.snapname, false, null, io);
    } finally {
      lock.release();
    }
  },
});

/**
 * pve-guest-common AbstractConfig.pm `snapshot_delete`. `done` (its `$drivehash`) is set only
 * when snapshot_create cleans up: then the lock is already `snapshot` and only those volumes'
 * snapshots are removed. Each volume leaves the section as it goes (unless forced), so a failure
 * partway leaves `lock: snapshot-delete`, `snapstate: delete` and a section without that volume.
 */
export function snapshotDelete(
  ctx: SimContext,
  vmid: number,
  snapname: string,
  force: boolean,
  done: string[] | null,
  io: TaskIo,
): void {
  const { layout, name: node } = ctx.node;
  if (!readConfig(layout, node, vmid).snapshots.has(snapname))
    throw new PctError(`snapshot '${snapname}' does not exist`);
  const expected = done ? "snapshot" : "snapshot-delete";
  if (!done) setLock(ctx, vmid, "snapshot-delete");
  const locked = (change: (conf: CtConfig, snap: Section) => void): void =>
    withConfigLock(ctx, vmid, () => {
      const conf = readConfig(layout, node, vmid);
      if (conf.main.values.lock !== expected) throw new PctError(`encountered invalid lock, expected '${expected}'`);
      const snap = conf.snapshots.get(snapname);
      if (!snap) throw new PctError(`snapshot '${snapname}' does not exist`);
      change(conf, snap);
      writeConfig(layout, vmid, conf);
    });
  let snap!: Section;
  locked((conf, s) => {
    if (conf.main.values.template === "1") throw new PctError("you can't delete a snapshot if vm is a template");
    s.values.snapstate = "delete";
    snap = s;
  });
  const unused: string[] = [];
  for (const [key, volid] of sectionVolumes(snap)) {
    if (!done || done.includes(key)) {
      try {
        io.checkpoint();
        if (!force) ctx.fault.at("midway");
        deleteVolumeSnapshot(layout, volid, snapname);
        unused.push(volid);
      } catch (err) {
        if (!force) throw err;
        io.print(`${(err as Error).message}\n`);
      }
    }
    // __snapshot_delete_remove_drive: the key leaves the section, its volume becomes unusedN there.
    if (!force)
      locked((_conf, s) => {
        delete s.values[key];
        addUnused(s.values, volid);
      });
  }
  locked((conf, s) => {
    const parent = s.values.parent;
    for (const section of [conf.main, ...conf.snapshots.values()]) {
      if (section.values.parent !== snapname) continue;
      if (parent) section.values.parent = parent;
      else delete section.values.parent;
    }
    conf.snapshots.delete(snapname);
    delete conf.main.values.lock;
    for (const volid of unused) addUnused(conf.main.values, volid);
    dropUsedUnused(conf.main.values);
  });
}

/** AbstractConfig.pm `set_lock`: under the flock, check_lock, then `lock: <lock>`. */
function setLock(ctx: SimContext, vmid: number, lock: string): void {
  withConfigLock(ctx, vmid, () => {
    const conf = readConfig(ctx.node.layout, ctx.node.name, vmid);
    checkNotLocked(conf);
    conf.main.values.lock = lock;
    writeConfig(ctx.node.layout, vmid, conf);
  });
}

/** AbstractConfig.pm `add_unused_volume`: the lowest free unusedN, no duplicates. */
function addUnused(values: Record<string, string>, volid: string): void {
  let free: string | null = null;
  for (let i = 255; i >= 0; i--) {
    const key = `unused${i}`;
    if (values[key] === volid) return;
    if (values[key] === undefined) free = key;
  }
  if (!free) throw new PctError("Too many unused volumes - please delete them first.");
  values[free] = volid;
}

/** LXC/Config.pm `write_pct_config`: "remove 'unusedX' settings if the volume is still used". */
function dropUsedUnused(values: Record<string, string>): void {
  const used = new Set(sectionVolumes({ values, description: "", lxc: [] }).map(([, v]) => v));
  for (const key of Object.keys(values)) if (/^unused\d+$/.test(key) && used.has(values[key]!)) delete values[key];
}
