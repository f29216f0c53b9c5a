import type { NodeContext } from "../node/node-context.js";
import { requireVmid } from "../node/require-valid.js";
import { requireConfigFile } from "../containers/container-reader.js";
import { isUnfinishedSnapshot } from "./unfinished-snapshot.js";

export interface SnapshotView {
  readonly name: string;
  readonly parent: string;
  readonly createdMs: number;
  readonly description: string;
}

/**
 * The container's snapshots, oldest first, from the snapshot sections of its config (the
 * only place their exact `snaptime` is kept; `pct listsnapshot` shows local time to the
 * second). Ties in time are broken by the parent chain, so order is always total. A section
 * with `snapstate` is a snapshot that never finished, not a snapshot: it is left out (see
 * `unfinishedSnapshotNames`).
 */
export async function listSnapshots(ctx: NodeContext, vmid: number): Promise<SnapshotView[]> {
  requireVmid(vmid);
  const config = await requireConfigFile(ctx, vmid);
  const snapshots = [...config.snapshots]
    .filter(([, section]) => !isUnfinishedSnapshot(section))
    .map(([name, section]) => ({
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
  return snapshots.sort(
    (a, b) => a.createdMs - b.createdMs || depth(a.name) - depth(b.name) || a.name.localeCompare(b.name),
  );
}

/** The names of the container's snapshot sections that never finished (prepare or delete). */
export async function unfinishedSnapshotNames(ctx: NodeContext, vmid: number): Promise<string[]> {
  const config = await requireConfigFile(ctx, vmid);
  return [...config.snapshots].filter(([, section]) => isUnfinishedSnapshot(section)).map(([name]) => name);
}
