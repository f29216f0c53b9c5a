import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { withPrivateLock } from "../locking/flock.js";
import { PctError } from "../node/pct-error.js";
import { replaceFile } from "../node/replace-file.js";
import { DEFAULT_STORAGE_CFG } from "../storage/storage-config.js";
import { clusterDir, nodeLocalDirs } from "./cluster-dir.js";
import { formatCorosyncConf, parseCorosyncConf, type CorosyncConf } from "./corosync-conf.js";

/** The cluster's corosync.conf, or null before its first node joined. */
export function readCorosyncConf(dir: string): CorosyncConf | null {
  const file = clusterDir(dir).corosyncConf;
  return existsSync(file) ? parseCorosyncConf(readFileSync(file, "utf8")) : null;
}

/**
 * Makes `node` (rooted at `root`) a member of the cluster in `dir`, as `pvecm create` (first
 * node) and `pvecm add` do: corosync.conf gains the node (next nodeid, config_version + 1),
 * Setup.pm gen_local_dirs makes its directories; the first join also lays out what pmxcfs holds
 * for the whole cluster (`ha/`, a fresh install's `storage.cfg`). The member's root is recorded
 * for the simulator (migrate reaches the target node through it). Idempotent.
 */
export function joinCluster(
  dir: string,
  node: string,
  root: string,
  clusterName = path.basename(path.resolve(dir)),
): void {
  const c = clusterDir(dir);
  mkdirSync(c.roots, { recursive: true });
  withPrivateLock(c.joinLock, () => {
    for (const d of [c.ha, ...nodeLocalDirs(c.dir, node)]) mkdirSync(d, { recursive: true });
    if (!existsSync(c.storageCfg)) writeFileSync(c.storageCfg, DEFAULT_STORAGE_CFG);
    recordRoot(dir, node, path.resolve(root));
    const conf = readCorosyncConf(dir) ?? { clusterName, configVersion: 0, nodes: [] };
    if (conf.nodes.some((n) => n.name === node)) return;
    const nodeid = Math.max(0, ...conf.nodes.map((n) => n.nodeid)) + 1;
    const nodes = [...conf.nodes, { name: node, nodeid, quorumVotes: 1, ring0Addr: `127.0.0.${nodeid}` }];
    replaceFile(c.corosyncConf, formatCorosyncConf({ ...conf, configVersion: conf.configVersion + 1, nodes }));
  });
}

function recordRoot(dir: string, node: string, root: string): void {
  const known = memberRoot(dir, node);
  if (known !== null && known !== root)
    throw new PctError(`simulator: node '${node}' of cluster '${dir}' is rooted at '${known}', not '${root}'`, 2);
  if (known === null) replaceFile(path.join(clusterDir(dir).roots, node), `${root}\n`);
}

/** The LOCKSTEP_SIM_ROOT of cluster member `node`, or null when it never joined. */
export function memberRoot(dir: string, node: string): string | null {
  const file = path.join(clusterDir(dir).roots, node);
  return existsSync(file) ? readFileSync(file, "utf8").trim() : null;
}

/**
 * `/etc/pve/.members` as node `node` shows it: pve-cluster src/pmxcfs/status.c
 * cfs_create_memberlist_msg (served by pmxcfs.c create_dot_members_cb). Without a cluster
 * (no corosync nodes) only the node's name and version. Every simulated member is online and
 * the cluster quorate (pmxcfs faults are the FUSE server's).
 */
export function dotMembers(conf: CorosyncConf | null, node: string): string {
  if (!conf || conf.nodes.length === 0) return `{\n"nodename": "${node}",\n"version": 0\n}\n`;
  const members = [...conf.nodes]
    .sort((a, b) => a.nodeid - b.nodeid)
    .map((n) => `  "${n.name}": { "id": ${n.nodeid}, "online": 1, "ip": "${n.ring0Addr}"}`);
  return (
    `{\n"nodename": "${node}",\n"version": ${conf.configVersion},\n` +
    `"cluster": { "name": "${conf.clusterName}", "version": ${conf.configVersion}, "nodes": ${conf.nodes.length}, "quorate": 1 },\n` +
    `"nodelist": {\n${members.join(",\n")}\n  }\n}\n`
  );
}

/** pve-cluster Cluster.pm check_node_exists: `no such cluster node '<n>'` unless it is a member. */
export function checkNodeExists(dir: string | null, node: string): void {
  const conf = dir ? readCorosyncConf(dir) : null;
  if (!conf?.nodes.some((n) => n.name === node)) throw new PctError(`no such cluster node '${node}'`);
}

/** Cluster.pm remote_node_ip: the member's address from the node list (ring0_addr here). */
export function memberIp(dir: string, node: string): string {
  return readCorosyncConf(dir)?.nodes.find((n) => n.name === node)?.ring0Addr ?? node;
}
