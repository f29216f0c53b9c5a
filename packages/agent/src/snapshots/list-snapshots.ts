import type { NodeContext } from "../node/node-context.js";
import { requireVmid } from "../node/require-valid.js";
import { requireConfigFile } from "../containers/container-reader.js";

export interface SnapshotView {
  readonly name: string;
  readonly parent: string;
  readonly createdMs: number;
  readonly description: string;
}

/**
 * The container's snapshots, oldest first, from the snapshot sections of its config (the
 * only place their exact `snaptime` is kept; `pct listsnapshot` shows local time to the
 * second). Ties in time are broken by the parent chain, so order is always total.
 */
export async function listSnapshots(ctx: NodeContext, vmid: number): Promise<SnapshotView[]> {
  requireVmid(vmid);
  const config = await requireConfigFile(ctx, vmid);
  const snapshots = [...config.snapshots].map(([name, section]) => ({
    name,
    parent: section.values.parent ?? "",
    createdMs: Number(section.values.snaptime ?? 0) * 1000,
    description: section.description,
  }));
  const depth = (name: string, seen = new Set<string>()): number => {
    const parent = snapshots.find((s) => s.name === name)?.parent;
    if (!parent || seen.has(parent)) return 0;
    seen.add(parent);
    return 1 + depth(parent, seen);
  };
  return snapshots.sort((a, b) => a.createdMs - b.createdMs || depth(a.name) - depth(b.name) || a.name.localeCompare(b.name));
}
