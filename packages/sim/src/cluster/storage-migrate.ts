import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { SimNode } from "../node/sim-node.js";
import { PctError } from "../node/pct-error.js";
import { readStorageConfig, storageEntry } from "../storage/storage-config.js";
import { copyTakingTime } from "../storage/copy-taking-time.js";
import { allocVolume, parseVolid, readVolume, storageDir, type VolumeRecord } from "../storage/volumes.js";
import type { TaskIo } from "../tasks/task-command.js";

/** What storage_migrate needs to know of one volume. */
export interface VolumeMove {
  readonly volid: string;
  readonly targetsid: string;
  /** Keep the volume's snapshots (zfspool: Migrate.pm lets them through, `with_snapshots`). */
  readonly withSnapshots: boolean;
}

/**
 * pve-storage src/PVE/Storage.pm storage_migrate (`pvesm export | ssh <target> pvesm import`,
 * `allow_rename`): the volume's data copied to the target node's storage under the same name
 * when the storage types match (a free name when that one is taken there, or when they differ),
 * taking LOCKSTEP_SIM_COPY_MS_PER_GB per GB; the source volume stays until phase3 frees it.
 * Prints import's lines (`Logical volume ... created.`, `successfully imported '<volid>'`).
 * Returns the new volume ID.
 */
export function storageMigrate(
  source: SimNode,
  target: SimNode,
  move: VolumeMove,
  io: TaskIo,
  env: NodeJS.ProcessEnv,
): string {
  const { storage, volname } = parseVolid(move.volid);
  const record = readVolume(source.layout, move.volid);
  if (!record) throw new PctError(`volume '${move.volid}' does not exist`);
  const storages = readStorageConfig(source.layout);
  const from = storageEntry(storages, storage);
  const to = storageEntry(storages, move.targetsid);
  const copy: VolumeRecord = { sizeGb: record.sizeGb, snapshots: move.withSnapshots ? [...record.snapshots] : [] };
  const vmid = Number(/-(\d+)-disk-\d+/.exec(volname)?.[1]);
  const newVolid =
    (from.type === to.type && claim(target, `${to.id}:${volname}`, copy)) ||
    allocVolume(target.layout, to, vmid, record.sizeGb);
  if (to.type === "lvm" || to.type === "lvmthin")
    io.print(`  Logical volume "${parseVolid(newVolid).volname}" created.\n`);
  copyTakingTime(record.sizeGb, io, env);
  writeFileSync(volumePath(target, newVolid), JSON.stringify(copy));
  io.print(`successfully imported '${newVolid}'\n`);
  return newVolid;
}

/** Creates the volume under `volid` on the target unless it exists there (then allow_rename picks another). */
function claim(target: SimNode, volid: string, record: VolumeRecord): string | null {
  const file = volumePath(target, volid);
  mkdirSync(path.dirname(file), { recursive: true });
  try {
    writeFileSync(file, JSON.stringify(record), { flag: "wx" });
    return volid;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return null;
    throw err;
  }
}

function volumePath(node: SimNode, volid: string): string {
  const { storage, volname } = parseVolid(volid);
  return path.join(storageDir(node.layout, storage), volname);
}
