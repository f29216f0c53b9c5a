import type { StorageType } from "./storage-config.js";

/** A storage feature as pve-storage's `volume_has_feature` names it. */
export type VolumeFeature = "snapshot" | "clone" | "copy";

type Key = "current" | "base" | "snap";

/**
 * The features of a container volume per storage type, from each plugin's `volume_has_feature`
 * (pve-storage Plugin.pm for `dir`, where a container disk is `raw`; LvmThinPlugin.pm;
 * LVMPlugin.pm, where only qcow2 snapshots and a CT disk is raw; ZFSPoolPlugin.pm).
 */
const FEATURES: Record<StorageType, Record<VolumeFeature, readonly Key[]>> = {
  dir: { snapshot: [], clone: ["base"], copy: ["base", "current"] },
  lvmthin: { snapshot: ["current"], clone: ["base", "snap"], copy: ["base", "current", "snap"] },
  lvm: { snapshot: [], clone: [], copy: ["base", "current"] },
  zfspool: { snapshot: ["current", "snap"], clone: ["base"], copy: ["base", "current"] },
};

/** Whether a volume of `type` has `feature`: on a snapshot (`snapname`), a base (template) volume, or the current one. */
export function volumeHasFeature(
  type: StorageType,
  feature: VolumeFeature,
  volname: string,
  snapname?: string,
): boolean {
  const key: Key = snapname ? "snap" : /^(base|basevol)-/.test(path(volname)) ? "base" : "current";
  return FEATURES[type][feature].includes(key);
}

// A `dir` volume name carries its VMID directory (`100/vm-100-disk-0.raw`); the base name decides.
function path(volname: string): string {
  return volname.slice(volname.lastIndexOf("/") + 1);
}
