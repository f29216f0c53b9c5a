import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { PctError } from "../node/pct-error.js";
import type { SimLayout } from "../node/sim-layout.js";

/** The storage types the simulator models (pve-storage Storage/*Plugin.pm). */
export type StorageType = "dir" | "lvmthin" | "lvm" | "zfspool";

/** One entry of `/etc/pve/storage.cfg`: its type, ID, content types and other properties. */
export interface StorageEntry {
  readonly type: StorageType;
  readonly id: string;
  readonly content: readonly string[];
  readonly properties: Readonly<Record<string, string>>;
}

/**
 * What a fresh PVE install on LVM writes (pve-manager's installer): `local` for files,
 * `local-lvm` for disks. A simulated cluster starts with it too.
 */
export const DEFAULT_STORAGE_CFG = `dir: local
\tpath /var/lib/vz
\tcontent iso,vztmpl,backup

lvmthin: local-lvm
\tthinpool data
\tvgname pve
\tcontent rootdir,images

`;

const TYPES: readonly StorageType[] = ["dir", "lvmthin", "lvm", "zfspool"];

/** `/etc/pve/storage.cfg` of the simulated cluster. */
function storageConfigPath(layout: SimLayout): string {
  return path.join(layout.root, "etc/pve/storage.cfg");
}

/**
 * Parses storage.cfg as pve-storage's SectionConfig does: `<type>: <id>` starts a section,
 * indented `<key> <value>` lines follow.
 */
function parseStorageConfig(text: string): StorageEntry[] {
  const entries: StorageEntry[] = [];
  let current: { type: StorageType; id: string; properties: Record<string, string> } | null = null;
  const flush = (): void => {
    if (current)
      entries.push({
        type: current.type,
        id: current.id,
        content: (current.properties.content ?? "").split(",").filter(Boolean),
        properties: current.properties,
      });
  };
  for (const line of text.split("\n")) {
    const head = /^(\w+):\s*(\S+)\s*$/.exec(line);
    if (head) {
      flush();
      if (!TYPES.includes(head[1] as StorageType))
        throw new PctError(`simulator: storage type '${head[1]}' is not modelled`, 2);
      current = { type: head[1] as StorageType, id: head[2]!, properties: {} };
      continue;
    }
    const prop = /^\s+(\S+)(?:\s+(.*?))?\s*$/.exec(line);
    if (prop && current) current.properties[prop[1]!] = prop[2] ?? "1";
  }
  flush();
  return entries;
}

/** The cluster's storages; a node without storage.cfg gets a fresh install's (`local`, `local-lvm`). */
export function readStorageConfig(layout: SimLayout): StorageEntry[] {
  const file = storageConfigPath(layout);
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    try {
      writeFileSync(file, DEFAULT_STORAGE_CFG, { flag: "wx" });
    } catch (err) {
      // Another pct wrote it first: theirs is the same default.
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
  return parseStorageConfig(readFileSync(file, "utf8"));
}

/** pve-storage Storage.pm, storage_config: the entry, or `storage '<id>' does not exist`. */
export function storageEntry(storages: readonly StorageEntry[], id: string): StorageEntry {
  const entry = storages.find((s) => s.id === id);
  if (!entry) throw new PctError(`storage '${id}' does not exist`);
  return entry;
}
