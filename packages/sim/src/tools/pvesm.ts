import { statfsSync } from "node:fs";
import { PctError } from "../node/pct-error.js";
import type { SimNode } from "../node/sim-node.js";
import { readStorageConfig, type StorageEntry } from "../storage/storage-config.js";

/** What pve-storage's Storage.pm storage_info reports of one storage. */
interface StorageStatus {
  readonly storage: string;
  readonly type: string;
  readonly enabled: boolean;
  readonly active: boolean;
  readonly total: number;
  readonly used: number;
  readonly avail: number;
}

/**
 * The simulated `pvesm` (pve-storage PVE/CLI/pvesm.pm): only `status`, which lists every
 * storage of storage.cfg through API2/Storage/Status.pm index and Storage.pm storage_info.
 */
export function pvesm(node: SimNode, argv: readonly string[]): string {
  const [command, ...rest] = argv;
  if (command !== "status")
    throw new PctError(
      `${command ? `unknown command 'pvesm ${command}'\n` : ""}USAGE: pvesm <COMMAND> [ARGS] [OPTIONS]`,
    );
  if (rest.length > 0) throw new PctError(`simulator: pvesm status ${rest.join(" ")} is not modelled (no options)`, 2);
  return printStatus(
    readStorageConfig(node.layout).map((entry) => storageStatus(node, entry)),
    node.pve,
  );
}

/**
 * Storage.pm storage_info: a storage is enabled unless `disable` is set or its `nodes` leave
 * this node out (storage_check_enabled, storage_check_node); only enabled ones are activated
 * and asked for their status. A simulated storage always activates, and its volumes are files
 * under the node's root, so its sizes are that filesystem's, as Plugin.pm status reads a
 * directory's (PVE::Tools::df: Filesys::Df in bytes).
 */
function storageStatus(node: SimNode, entry: StorageEntry): StorageStatus {
  const nodes = entry.properties.nodes?.split(",").map((n) => n.trim());
  const enabled = entry.properties.disable === undefined && (!nodes || nodes.includes(node.name));
  const none = { storage: entry.id, type: entry.type, enabled, active: false, total: 0, used: 0, avail: 0 };
  if (!enabled) return none;
  const fs = statfsSync(node.layout.root);
  return {
    ...none,
    active: true,
    total: fs.blocks * fs.bsize,
    used: (fs.blocks - fs.bfree) * fs.bsize,
    avail: fs.bavail * fs.bsize,
  };
}

/**
 * pvesm.pm $print_status: sorted by ID, the name column as wide as the longest ID plus one,
 * sizes in KiB (`/ 1024`, printed with %d), the used share `% 7.2f%%`, a disabled storage
 * `disabled` and `N/A`. PVE 9 names the unit in the header (`Total (KiB)`), PVE 8 does not.
 */
function printStatus(storages: readonly StorageStatus[], pve: 8 | 9): string {
  const width = Math.max(0, ...storages.map((s) => s.storage.length)) + 1;
  const unit = pve === 9 ? " (KiB)" : "";
  const row = (cells: string[]): string =>
    `${cells[0]!.padEnd(width)} ${cells[1]!.padStart(10)} ${cells[2]!.padStart(10)} ${cells[3]!.padStart(15)} ${cells[4]!.padStart(15)} ${cells[5]!.padStart(15)} ${cells[6]!.padStart(8)}\n`;
  let out = row(["Name", "Type", "Status", `Total${unit}`, `Used${unit}`, `Available${unit}`, "%"]);
  for (const s of [...storages].sort((a, b) => (a.storage < b.storage ? -1 : a.storage > b.storage ? 1 : 0))) {
    const kib = (bytes: number): string => String(Math.trunc(bytes / 1024));
    const status = !s.enabled ? "disabled" : s.active ? "active" : "inactive";
    const share = !s.enabled ? "N/A" : `${(s.total > 0 ? (s.used * 100) / s.total : 0).toFixed(2).padStart(7)}%`;
    out += row([s.storage, s.type, status, kib(s.total), kib(s.used), kib(s.avail), share]);
  }
  return out;
}
