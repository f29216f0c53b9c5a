/** One mounted local filesystem, as /proc/self/mountinfo lists it. */
export interface Mount {
  readonly mountPoint: string;
  readonly fsType: string;
}

// Filesystems on the node's own disks. A FUSE or network filesystem (pmxcfs on /etc/pve, NFS,
// CIFS or CephFS storage under /mnt/pve) answers statfs only when its server does: `df` hangs
// on a hung pmxcfs or NFS server, and so would this. Pseudo filesystems say nothing of storage.
const LOCAL_FS = new Set(["ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "jfs", "vfat"]);

// fstab(5)'s escapes in a path: \040 is a space.
const unescape = (path: string) =>
  path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

/**
 * Each local disk filesystem once, from /proc/self/mountinfo (proc(5): `id parent major:minor
 * root mountpoint options [tags] - fstype source ...`). A filesystem bind-mounted elsewhere (as
 * `ip netns` does with /run/netns) is counted at the mount of its root, as df counts it.
 */
export function localMounts(mountinfo: string): Mount[] {
  const byDevice = new Map<string, Mount & { whole: boolean }>();
  for (const line of mountinfo.split("\n")) {
    const [before, after] = line.split(" - ");
    const [, , device, root, point] = before?.split(" ") ?? [];
    const fsType = after?.split(" ")[0];
    if (!device || !root || !point || !fsType || !LOCAL_FS.has(fsType)) continue;
    const mount = { mountPoint: unescape(point), fsType, whole: root === "/" };
    const seen = byDevice.get(device);
    if (!seen || (mount.whole && !seen.whole)) byDevice.set(device, mount);
  }
  return [...byDevice.values()].map(({ mountPoint, fsType }) => ({ mountPoint, fsType }));
}
