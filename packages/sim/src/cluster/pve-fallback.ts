import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { clusterDir, nodeLocalDirs } from "./cluster-dir.js";
import { DEFAULT_STORAGE_CFG } from "../storage/storage-config.js";
import { dotMembers, readCorosyncConf } from "./cluster-members.js";

// What pmxcfs serves from the cluster's database at the top of /etc/pve, linked to the
// cluster directory when no FUSE server is mounted (the simulator's files only: pmxcfs holds more).
const SHARED = ["nodes", "priv", "ha", "storage.cfg", "corosync.conf"] as const;

/**
 * pve-cluster src/pmxcfs/pmxcfs.c create_symlinks: the per-node links pmxcfs serves at the top
 * of /etc/pve (`local` -> `nodes/<node>`, `qemu-server`, `openvz`, `lxc` -> `nodes/<node>/...`).
 */
export function perNodeLinks(node: string): [name: string, target: string][] {
  return [
    ["local", `nodes/${node}`],
    ["qemu-server", `nodes/${node}/qemu-server`],
    ["openvz", `nodes/${node}/openvz`],
    ["lxc", `nodes/${node}/lxc`],
  ];
}

/**
 * True when `<pve>/local` is a link: pmxcfs (or this fallback) is in place. pve-cluster
 * Cluster.pm check_cfs_is_mounted decides the same way (`-l "$basedir/local"`).
 */
export function pveLaidOut(pveDir: string): boolean {
  try {
    return lstatSync(path.join(pveDir, "local")).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * Lays out `<root>/etc/pve` when no pmxcfs is mounted there: a plain directory whose entries
 * are what a node sees through pmxcfs. In a cluster (`cluster` set) `nodes`, `priv`, `ha`,
 * `storage.cfg` and `corosync.conf` link into the cluster directory; a node alone keeps them
 * as its own (pmxcfs in local mode), with a fresh install's storage.cfg. Both get pmxcfs's
 * per-node links and `.members`. Idempotent; never touches a directory where pmxcfs is
 * already mounted.
 */
export function layOutPveFallback(pveDir: string, node: string, cluster: string | null): void {
  if (pveLaidOut(pveDir)) return;
  mkdirSync(pveDir, { recursive: true });
  if (cluster) {
    const c = clusterDir(cluster);
    const targets: Record<(typeof SHARED)[number], string> = {
      nodes: c.nodes,
      priv: c.priv,
      ha: c.ha,
      "storage.cfg": c.storageCfg,
      "corosync.conf": c.corosyncConf,
    };
    for (const name of SHARED) link(targets[name], path.join(pveDir, name));
  } else {
    for (const dir of nodeLocalDirs(pveDir, node)) mkdirSync(dir, { recursive: true });
    // A fresh install writes its storage.cfg (what `joinCluster` gives a cluster's first node).
    if (!existsSync(path.join(pveDir, "storage.cfg")))
      writeFileSync(path.join(pveDir, "storage.cfg"), DEFAULT_STORAGE_CFG);
  }
  refreshDotMembers(pveDir, node, cluster);
  // `local` last: it is what tells a laid-out /etc/pve (check_cfs_is_mounted).
  for (const [name, target] of perNodeLinks(node).reverse()) link(target, path.join(pveDir, name));
}

/**
 * Rewrites the fallback's `.members` when the cluster's membership changed since (pmxcfs
 * computes it on each read; the fallback is a file). Nothing when pmxcfs serves /etc/pve.
 */
export function refreshDotMembers(pveDir: string, node: string, cluster: string | null): void {
  const file = path.join(pveDir, ".members");
  if (cluster && !isLink(path.join(pveDir, "nodes"))) return;
  const text = dotMembers(cluster ? readCorosyncConf(cluster) : null, node);
  if (existsSync(file) && readFileSync(file, "utf8") === text) return;
  // A temporary file of this process's own: several pct may refresh it at once.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o440 });
  renameSync(tmp, file);
}

function isLink(file: string): boolean {
  try {
    return lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

function link(target: string, at: string): void {
  try {
    symlinkSync(target, at);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
}
