import { rmSync } from "node:fs";
import path from "node:path";
import { checkNotLocked, newSection, readConfig, removeConfig, writeConfig, type CtConfig } from "../node/ct-config.js";
import { haCheckDestroy, haPurge } from "../ha/ha-request.js";
import { PctError } from "../node/pct-error.js";
import { readRuntime, removeRuntime, updateRuntime } from "../node/runtime-state.js";
import { rootfsPath } from "../node/sim-layout.js";
import { readStorageConfig } from "../storage/storage-config.js";
import { freeVolume, listVolumes, parseVolid } from "../storage/volumes.js";
import { taskCommand, type TaskIo } from "../tasks/task-command.js";
import { parsePctArgs, parseVmid } from "./pct-args.js";
import { lockConfig, type SimContext } from "./sim-context.js";

interface DestroyPlan {
  readonly vmid: number;
  readonly force: boolean;
  readonly purge: boolean;
  readonly unreferenced: boolean;
}

/**
 * `pct destroy <vmid>`, as pve-container API2/LXC.pm `destroy_vm`: before the fork the config
 * is loaded and the early checks run (protection, lock, running without --force); the worker
 * repeats them under lock_config, then LXC.pm `destroy_lxc_container` frees the referenced
 * volumes (all of the VMID's with --destroy-unreferenced-disks), replaces the config by
 * `lock: destroyed` alone, and the config is unlinked last ("else we can have reuse race").
 */
export const destroy = taskCommand<DestroyPlan>({
  before(ctx, args) {
    const { positionals, options } = parsePctArgs(args, ["vmid"], {
      booleans: ["force", "purge", "destroy-unreferenced-disks"],
    });
    const vmid = parseVmid(positionals[0]!);
    const conf = readConfig(ctx.node.layout, ctx.node.name, vmid);
    earlyChecks(ctx, vmid, conf, options.purge === "1");
    const force = options.force === "1";
    if (!force && readRuntime(ctx.node.layout, vmid).running) throw new PctError(runningError(vmid));
    return {
      type: "vzdestroy",
      id: String(vmid),
      prepared: {
        vmid,
        force,
        purge: options.purge === "1",
        unreferenced: options["destroy-unreferenced-disks"] === "1",
      },
    };
  },
  body(ctx, plan, io) {
    const lock = lockConfig(ctx, plan.vmid, 10);
    try {
      destroyLocked(ctx, plan, io);
    } finally {
      lock.release();
    }
  },
});

function destroyLocked(ctx: SimContext, plan: DestroyPlan, io: TaskIo): void {
  const { layout, name } = ctx.node;
  const { vmid } = plan;
  const conf = readConfig(layout, name, vmid);
  earlyChecks(ctx, vmid, conf, plan.purge);
  if (readRuntime(layout, vmid).running) {
    if (!plan.force) throw new PctError(runningError(vmid));
    process.stderr.write(`forced to stop CT ${vmid} before destroying!\n`);
    updateRuntime(layout, vmid, (s) => Object.assign(s, { running: false, loaded: [], active: [] }));
  }
  const freed = new Set<string>();
  for (const volid of referencedVolumes(conf)) {
    if (freed.has(volid)) continue;
    freed.add(volid);
    freeWithOutput(ctx, volid, io);
    ctx.fault.at("midway");
    io.checkpoint();
  }
  if (plan.unreferenced) {
    // destroy_lxc_container: vdisk_list of every storage with content rootdir, then vdisk_free each.
    for (const storage of readStorageConfig(layout).filter((s) => s.content.includes("rootdir"))) {
      for (const volid of listVolumes(layout, storage.id, vmid)) freeWithOutput(ctx, volid, io);
    }
  }
  rmSync(path.dirname(rootfsPath(layout, vmid)), { recursive: true, force: true });
  removeRuntime(layout, vmid);
  writeConfig(layout, vmid, { main: newSection({ lock: "destroyed" }), snapshots: new Map() });
  io.checkpoint();
  io.print(haPurge(ctx, vmid, plan.purge));
  // `only now remove the zombie config, else we can have reuse race`; the lock file stays.
  removeConfig(layout, vmid);
}

/** destroy_vm's `$early_checks`: check_protection, check_lock, then an HA resource needs --purge. */
function earlyChecks(ctx: SimContext, vmid: number, conf: CtConfig, purge: boolean): void {
  if (conf.main.values.protection === "1") throw new PctError(`can't remove CT ${vmid} - protection mode enabled`);
  checkNotLocked(conf);
  haCheckDestroy(ctx, vmid, purge);
}

function runningError(vmid: number): string {
  return `unable to destroy CT ${vmid} - container is running`;
}

/** Volumes of the main config (rootfs, mpN, unusedN), as foreach_volume_full with include_unused. */
export function referencedVolumes(conf: CtConfig): string[] {
  const keys = Object.keys(conf.main.values).filter((k) => /^(rootfs|mp\d+|unused\d+)$/.test(k));
  const order = (k: string): number =>
    k === "rootfs" ? -1 : Number(/\d+$/.exec(k)![0]) + (k.startsWith("unused") ? 1000 : 0);
  return keys
    .sort((a, b) => order(a) - order(b))
    .map((k) => conf.main.values[k]!.split(",")[0]!)
    .filter((v) => /^[a-zA-Z][a-zA-Z0-9_.-]*:/.test(v) && !v.startsWith("/"));
}

function freeWithOutput(ctx: SimContext, volid: string, io: TaskIo): void {
  freeVolume(ctx.node.layout, volid);
  const { storage, volname } = parseVolid(volid);
  const type = readStorageConfig(ctx.node.layout).find((s) => s.id === storage)?.type;
  if (type === "lvm" || type === "lvmthin") io.print(`  Logical volume "${volname}" successfully removed.\n`);
}
