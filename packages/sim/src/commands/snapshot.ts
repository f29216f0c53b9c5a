import { checkNotLocked, readConfig, writeConfig } from "../node/ct-config.js";
import { PctError, parameterError } from "../node/pct-error.js";
import { snapshotVolume } from "../storage/volumes.js";
import { taskCommand } from "../tasks/task-command.js";
import { snapshotDelete } from "./delsnapshot.js";
import { parsePctArgs, parseVmid } from "./pct-args.js";
import { withConfigLock, type SimContext } from "./sim-context.js";
import { sectionHasFeature, sectionVolumes } from "./snapshot-volumes.js";

const SNAPNAME = /^[a-z][a-z0-9_-]+$/i;

// AbstractConfig.pm `__snapshot_copy_config`: what a snapshot section never takes from the config.
const NOT_COPIED = /^(snapshots|snapstate|snaptime|vmstate|lock|digest|description|unused\d+)$/;

interface SnapshotPlan {
  readonly vmid: number;
  readonly snapname: string;
  readonly description: string | null;
}

/** The `pve-configid` format of a snapshot name, and API2/LXC/Snapshot.pm's reserved names. */
export function checkSnapname(name: string): string {
  if (!SNAPNAME.test(name) || name.length > 40)
    throw parameterError("snapname", "invalid format - invalid configuration ID");
  if (name === "current" || name === "vzdump")
    throw new PctError(`unable to use snapshot name '${name}' (reserved name)`);
  return name;
}

/**
 * `pct snapshot <vmid> <name>`: a `vzsnapshot` worker running pve-guest-common AbstractConfig.pm
 * `snapshot_create`: `__snapshot_prepare` (under the flock: `lock: snapshot` and the new section
 * with `snapstate: prepare`), the volume snapshots with no flock held, `__snapshot_commit`
 * (under the flock: snapstate and lock removed, `parent` set). A failure between runs
 * `snapshot_delete` with force and the volumes already done, so nothing is left behind.
 */
export const snapshot = taskCommand<SnapshotPlan>({
  before(_ctx, args) {
    const { positionals, options } = parsePctArgs(args, ["vmid", "snapname"], { values: ["description"] });
    const vmid = parseVmid(positionals[0]!);
    const snapname = checkSnapname(positionals[1]!);
    return {
      type: "vzsnapshot",
      id: String(vmid),
      prepared: { vmid, snapname, description: options.description ?? null },
    };
  },
  body(ctx, plan, io) {
    prepare(ctx, plan);
    const done: string[] = [];
    try {
      const conf = readConfig(ctx.node.layout, ctx.node.name, plan.vmid);
      for (const [key, volid] of sectionVolumes(conf.snapshots.get(plan.snapname)!)) {
        io.checkpoint();
        ctx.fault.at("midway");
        snapshotVolume(ctx.node.layout, volid, plan.snapname);
        done.push(key);
      }
    } catch (err) {
      io.print("snapshot create failed: starting cleanup\n");
      try {
        snapshotDelete(ctx, plan.vmid, plan.snapname, true, done, io);
      } catch (cleanup) {
        io.print(`${(cleanup as Error).message}\n`);
      }
      throw err;
    }
    commit(ctx, plan);
  },
});

/** AbstractConfig.pm `__snapshot_prepare`. */
function prepare(ctx: SimContext, plan: SnapshotPlan): void {
  const { layout, name: node } = ctx.node;
  withConfigLock(ctx, plan.vmid, () => {
    const conf = readConfig(layout, node, plan.vmid);
    if (conf.main.values.template === "1") throw new PctError("you can't take a snapshot if it's a template");
    checkNotLocked(conf);
    if (conf.snapshots.has(plan.snapname)) throw new PctError(`snapshot name '${plan.snapname}' already used`);
    if (!sectionHasFeature(ctx, conf.main, "snapshot")) throw new PctError("snapshot feature is not available");
    for (const section of conf.snapshots.values()) {
      // "deleting parent '…' reference from '…' to avoid bogus snapshot cycle."
      if (section.values.parent === plan.snapname) delete section.values.parent;
    }
    conf.main.values.lock = "snapshot";
    const values: Record<string, string> = {};
    for (const [key, value] of Object.entries(conf.main.values)) if (!NOT_COPIED.test(key)) values[key] = value;
    values.snapstate = "prepare";
    values.snaptime = String(Math.floor(Date.now() / 1000));
    conf.snapshots.set(plan.snapname, {
      values,
      description: plan.description ?? "",
      lxc: conf.main.lxc.map(([k, v]) => [k, v]),
    });
    writeConfig(layout, plan.vmid, conf);
  });
}

/** AbstractConfig.pm `__snapshot_commit`. */
function commit(ctx: SimContext, plan: SnapshotPlan): void {
  const { layout, name: node } = ctx.node;
  withConfigLock(ctx, plan.vmid, () => {
    const conf = readConfig(layout, node, plan.vmid);
    if (conf.main.values.lock !== "snapshot") throw new PctError("missing snapshot lock");
    const snap = conf.snapshots.get(plan.snapname);
    if (!snap) throw new PctError(`snapshot '${plan.snapname}' does not exist`);
    if (snap.values.snapstate !== "prepare") throw new PctError("wrong snapshot state");
    delete snap.values.snapstate;
    delete conf.main.values.lock;
    conf.main.values.parent = plan.snapname;
    writeConfig(layout, plan.vmid, conf);
  });
}
