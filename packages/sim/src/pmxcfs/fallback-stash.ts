import { existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmdirSync } from "node:fs";
import path from "node:path";
import { PmxcfsError } from "./pmxcfs-error.js";
import type { PmxcfsSettings } from "./pmxcfs-settings.js";

// The cluster layout's fallback at `<root>/etc/pve` when nothing is mounted: links into the
// cluster directory and a generated `.members` (cluster/pve-fallback.ts). Nothing else is its.
const isFallbackEntry = (dir: string, name: string): boolean =>
  name === ".members" || lstatSync(path.join(dir, name)).isSymbolicLink();

/**
 * pmxcfs mounts on an empty CFSDIR (pmxcfs.c: mkdir, then fuse_mount), and a stopped pmxcfs
 * leaves it empty: the fallback's entries are moved aside while pmxcfs owns the directory.
 * Anything that is not the fallback's is refused, never moved.
 */
export function stashFallback(s: PmxcfsSettings): void {
  mkdirSync(s.mountpoint, { recursive: true });
  const entries = readdirSync(s.mountpoint);
  const own = entries.filter((name) => !isFallbackEntry(s.mountpoint, name));
  if (own.length > 0) {
    throw new PmxcfsError(
      "MOUNTPOINT_NOT_EMPTY",
      `${s.mountpoint} holds files of its own (${own.join(", ")}): not a cluster node's fallback, so pmxcfs will not cover it`,
    );
  }
  mkdirSync(s.fallbackStash, { recursive: true });
  for (const name of entries) renameSync(path.join(s.mountpoint, name), path.join(s.fallbackStash, name));
}

/** Puts the fallback back once pmxcfs is gone for good (`unmount`): plain directories again. */
export function restoreFallback(s: PmxcfsSettings): void {
  if (!existsSync(s.fallbackStash)) return;
  for (const name of readdirSync(s.fallbackStash))
    renameSync(path.join(s.fallbackStash, name), path.join(s.mountpoint, name));
  rmdirSync(s.fallbackStash);
}
