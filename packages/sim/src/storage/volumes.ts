import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { withPrivateLock } from "../locking/flock.js";
import { PctError } from "../node/pct-error.js";
import { replaceFile } from "../node/replace-file.js";
import type { SimLayout } from "../node/sim-layout.js";
import { storageEntry, type StorageEntry } from "./storage-config.js";

/**
 * A volume is a real file, `<root>/var/lib/lockstep-sim/storage/<storage>/<volname>`, holding
 * its size and its snapshots as JSON. The container's files stay in `var/lib/lxc/<vmid>/rootfs`
 * (the mount point Proxmox mounts the volume on), so exec, push and systemd are unchanged.
 */
export interface VolumeRecord {
  sizeGb: number;
  /** Storage snapshots of this volume, oldest first. */
  snapshots: string[];
}

/** The directory holding one storage's volumes. */
export function storageDir(layout: SimLayout, storage: string): string {
  return path.join(layout.stateDir, "storage", storage);
}

/** Splits `storage:volname` as pve-storage's parse_volume_id does. */
export function parseVolid(volid: string): { storage: string; volname: string } {
  const m = /^([a-zA-Z][a-zA-Z0-9_.-]*):(.+)$/.exec(volid);
  if (!m) throw new PctError(`unable to parse volume ID '${volid}'`);
  return { storage: m[1]!, volname: m[2]! };
}

function volumeFile(layout: SimLayout, volid: string): string {
  const { storage, volname } = parseVolid(volid);
  return path.join(storageDir(layout, storage), volname);
}

const DISK = (vmid: number): RegExp =>
  new RegExp(`^(?:\\d+/)?(vm|base|subvol|basevol)-${vmid}-disk-(\\d+)(?:\\.raw)?$`);

/** Every volume of `vmid` on `storage` (pve-storage `list_images`). */
export function listVolumes(layout: SimLayout, storage: string, vmid: number): string[] {
  const dir = storageDir(layout, storage);
  if (!existsSync(dir)) return [];
  const names = readdirSync(dir, { recursive: true, encoding: "utf8" }).map((n) => n.split(path.sep).join("/"));
  return names
    .filter((n) => DISK(vmid).test(n) && !n.endsWith(".tmp"))
    .sort()
    .map((n) => `${storage}:${n}`);
}

/**
 * Allocates a container disk as pve-container LXC.pm `alloc_disk` -> pve-storage `vdisk_alloc`
 * does: `subvol-` on zfspool, `<vmid>/vm-…raw` on dir, `vm-…` on LVM; numbered by
 * Plugin.pm `find_free_diskname` (the first free n among vm-/base-/subvol- names of that VMID).
 */
export function allocVolume(layout: SimLayout, entry: StorageEntry, vmid: number, sizeGb: number): string {
  const dir = storageDir(layout, entry.id);
  mkdirSync(dir, { recursive: true });
  return withPrivateLock(path.join(dir, ".alloc.lock"), () => {
    const used = new Set(
      listVolumes(layout, entry.id, vmid).map((v) => Number(DISK(vmid).exec(parseVolid(v).volname)![2])),
    );
    let n = 0;
    while (used.has(n)) n++;
    const volname =
      entry.type === "zfspool"
        ? `subvol-${vmid}-disk-${n}`
        : entry.type === "dir"
          ? `${vmid}/vm-${vmid}-disk-${n}.raw`
          : `vm-${vmid}-disk-${n}`;
    const volid = `${entry.id}:${volname}`;
    const file = volumeFile(layout, volid);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ sizeGb, snapshots: [] } satisfies VolumeRecord), { flag: "wx" });
    return volid;
  });
}

/** The volume's record, or null when it does not exist. */
export function readVolume(layout: SimLayout, volid: string): VolumeRecord | null {
  const file = volumeFile(layout, volid);
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as VolumeRecord) : null;
}

/** Frees a volume and its snapshots; a missing one is no error (LvmThinPlugin.pm `free_image`: `if ($dat->{$volname})`). */
export function freeVolume(layout: SimLayout, volid: string): void {
  rmSync(volumeFile(layout, volid), { force: true });
}

/** pve-storage `volume_snapshot`: records the snapshot on the volume. */
export function snapshotVolume(layout: SimLayout, volid: string, snapname: string): void {
  updateVolume(layout, volid, (r) => {
    if (r.snapshots.includes(snapname))
      throw new PctError(`snapshot '${snapname}' already exists on volume '${volid}'`);
    r.snapshots.push(snapname);
  });
}

/** pve-storage `volume_snapshot_delete`: drops the snapshot (a missing one is an error, as lvremove's is). */
export function deleteVolumeSnapshot(layout: SimLayout, volid: string, snapname: string): void {
  updateVolume(layout, volid, (r) => {
    if (!r.snapshots.includes(snapname))
      throw new PctError(`snapshot '${snapname}' of volume '${volid}' does not exist`);
    r.snapshots = r.snapshots.filter((s) => s !== snapname);
  });
}

function updateVolume(layout: SimLayout, volid: string, change: (r: VolumeRecord) => void): void {
  const file = volumeFile(layout, volid);
  withPrivateLock(path.join(storageDir(layout, parseVolid(volid).storage), ".alloc.lock"), () => {
    const record = readVolume(layout, volid);
    if (!record) throw new PctError(`volume '${volid}' does not exist`);
    change(record);
    replaceFile(file, JSON.stringify(record));
  });
}

/** The storage entry a volume lives on. */
export function volumeStorage(storages: readonly StorageEntry[], volid: string): StorageEntry {
  return storageEntry(storages, parseVolid(volid).storage);
}
