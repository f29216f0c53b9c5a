import { PctError, parameterError } from "../node/pct-error.js";
import { storageEntry, type StorageEntry } from "../storage/storage-config.js";

/** pve-common JSONSchema.pm parse_idmap's result: `identity`, a `default` target, per-source `entries`. */
export interface StorageMap {
  readonly identity: boolean;
  readonly default: string | null;
  readonly entries: Readonly<Record<string, string>>;
}

// pve-common JSONSchema.pm pve-storage-id.
const STORAGE_ID = /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i;

/**
 * `--target-storage` as pve-common JSONSchema.pm parse_idmap reads it: `1` (identity),
 * `<source>:<target>` pairs, one bare default; errors as API2/LXC.pm migrate_vm raises them.
 */
export function parseStorageMap(text: string): StorageMap {
  const fail = (message: string): never => {
    throw parameterError("target-storage", `failed to parse storage map: ${message}`);
  };
  let identity = false;
  let fallback: string | null = null;
  const entries: Record<string, string> = {};
  for (const entry of text.split(/[;,\s]+/).filter(Boolean)) {
    const pair = /^([^:]+):([^:]+)$/.exec(entry);
    if (entry === "1") identity = true;
    else if (pair) {
      if (!STORAGE_ID.test(pair[1]!) || !STORAGE_ID.test(pair[2]!))
        fail(`entry '${entry}' contains invalid ID - value does not look like a valid storage ID`);
      if (Object.hasOwn(entries, pair[1]!)) fail(`duplicate mapping for source '${pair[1]}'`);
      entries[pair[1]!] = pair[2]!;
    } else {
      if (!STORAGE_ID.test(entry))
        fail(`entry '${entry}' contains invalid ID - value does not look like a valid storage ID`);
      if (fallback !== null) fail("default target ID can only be provided once");
      fallback = entry;
    }
  }
  if (identity && (fallback !== null || Object.keys(entries).length > 0))
    fail("identity mapping cannot be combined with other mappings");
  return { identity, default: fallback, entries };
}

/** JSONSchema.pm map_id: the source's entry, else the default, else the source itself. */
export function mapStorageId(map: StorageMap | null, source: string): string {
  if (!map) return source;
  return map.entries[source] ?? map.default ?? source;
}

/**
 * pve-storage src/PVE/Storage.pm storage_check_enabled / storage_check_node: the storage
 * exists, is not disabled, and (when its `nodes` list is set) is available on `node`.
 */
export function storageCheckEnabled(storages: readonly StorageEntry[], id: string, node: string): StorageEntry {
  const entry = storageEntry(storages, id);
  if (entry.properties.disable === "1") throw new PctError(`storage '${id}' is disabled`);
  const nodes = entry.properties.nodes?.split(/[,;\s]+/).filter(Boolean);
  if (nodes && !nodes.includes(node)) throw new PctError(`storage '${id}' is not available on node '${node}'`);
  return entry;
}
