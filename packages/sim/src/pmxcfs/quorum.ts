import { lstatSync } from "node:fs";
import path from "node:path";
import { PctError } from "../node/pct-error.js";
import type { SimLayout } from "../node/sim-layout.js";

/**
 * pve-cluster src/PVE/Cluster.pm check_cfs_quorum: an lstat of `/etc/pve/local` (not `-w`,
 * which is always true for root), quorate when its mode has 0200. pmxcfs gives that link 0777
 * with quorum and 0555 without (cfs-plug-link.c cfs_plug_link_getattr); when pmxcfs is down
 * the link is missing, which counts as no quorum too. pve-container calls it first thing in
 * create_vm, clone_vm, migrate_vm and vm_start (API2/LXC.pm, API2/LXC/Status.pm).
 */
export function checkCfsQuorum(layout: SimLayout): void {
  let mode = 0;
  try {
    mode = lstatSync(path.join(layout.root, "etc/pve/local")).mode;
  } catch {
    // no link: not quorate
  }
  if ((mode & 0o200) === 0) throw new PctError("cluster not ready - no quorum?");
}
