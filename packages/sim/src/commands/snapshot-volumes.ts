import type { Section } from "../node/ct-config.js";
import { readStorageConfig } from "../storage/storage-config.js";
import { volumeHasFeature, type VolumeFeature } from "../storage/volume-features.js";
import { parseVolid, volumeStorage } from "../storage/volumes.js";
import type { SimContext } from "./sim-context.js";

/** A section's volume mount points in foreach_volume's order: rootfs, then mp0, mp1, ... (bind mounts skipped). */
export function sectionVolumes(section: Section): [key: string, volid: string][] {
  const keys = Object.keys(section.values).filter((k) => /^(rootfs|mp\d+)$/.test(k));
  keys.sort((a, b) => (a === "rootfs" ? -1 : b === "rootfs" ? 1 : Number(a.slice(2)) - Number(b.slice(2))));
  return keys
    .map((k) => [k, section.values[k]!.split(",")[0]!] as [string, string])
    .filter(([, v]) => !v.startsWith("/"));
}

/** pve-container LXC/Config.pm `has_feature`: every volume of the section has the feature. */
export function sectionHasFeature(
  ctx: SimContext,
  section: Section,
  feature: VolumeFeature,
  snapname?: string,
): boolean {
  const storages = readStorageConfig(ctx.node.layout);
  return sectionVolumes(section).every(([, volid]) =>
    volumeHasFeature(volumeStorage(storages, volid).type, feature, parseVolid(volid).volname, snapname),
  );
}
