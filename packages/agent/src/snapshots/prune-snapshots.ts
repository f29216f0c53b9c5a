import { LockstepError } from "@lockstep/shared";
import { InvalidArgumentError } from "../errors.js";
import { readConfigFile } from "../containers/container-reader.js";
import type { NodeContext } from "../node/node-context.js";
import { requireVmid } from "../node/require-valid.js";
import { listSnapshots, unfinishedSnapshotNames } from "./list-snapshots.js";
import { deleteSnapshot } from "./snapshot-commands.js";
import { removeUnfinishedSnapshot } from "./unfinished-snapshot.js";
import type { OperationScope } from "../pct/operation-scope.js";

export interface PruneOutcome {
  readonly deleted: string[];
  readonly kept: string[];
  readonly failed: { name: string; code: string; message: string }[];
  readonly staleLockCleared: boolean;
}

const PREFIX = /^[a-zA-Z][a-zA-Z0-9_-]{0,30}$/;

/**
 * Deletes Lockstep's oldest snapshots (those named with `prefix`) beyond `keepLast`. Never
 * touches a snapshot without the prefix, nor `current` or `vzdump`. Unfinished snapshots with
 * the prefix (`snapstate` in their section) are not counted and are removed. A failed delete (a
 * snapshot a clone depends on, say) is reported and the rest go on; the `lock:
 * snapshot-delete` it leaves is cleared before the next delete, since it would block
 * every later operation on the container.
 */
export async function pruneSnapshots(
  ctx: NodeContext,
  vmid: number,
  keepLast: number,
  prefix: string,
  op: OperationScope,
  owner: string,
): Promise<PruneOutcome> {
  requireVmid(vmid);
  if (!PREFIX.test(prefix))
    throw new InvalidArgumentError(
      "prefix",
      "must be a snapshot-name prefix: a letter, then letters, digits, '_' or '-' (at most 31)",
    );
  if (!Number.isInteger(keepLast) || keepLast < 0 || keepLast > 1000)
    throw new InvalidArgumentError("keep_last", "must be an integer from 0 to 1000");
  // Unfinished ones are not snapshots and never count: removed first, reported as deleted.
  const unfinished = (await unfinishedSnapshotNames(ctx, vmid)).filter((name) => name.startsWith(prefix));
  for (const name of unfinished) await removeUnfinishedSnapshot(ctx, vmid, name, op, owner);
  const ours = (await listSnapshots(ctx, vmid)).filter((s) => s.name.startsWith(prefix));
  const doomed = ours.slice(0, Math.max(0, ours.length - keepLast));
  const outcome: PruneOutcome = {
    deleted: [...unfinished],
    kept: ours.slice(doomed.length).map((s) => s.name),
    failed: [],
    staleLockCleared: false,
  };
  let staleLockCleared = false;
  for (const snapshot of doomed) {
    try {
      await deleteSnapshot(ctx, vmid, snapshot.name, false, op, owner);
      outcome.deleted.push(snapshot.name);
    } catch (err) {
      if (!(err instanceof LockstepError)) throw err;
      outcome.failed.push({ name: snapshot.name, code: err.code, message: err.message });
      outcome.kept.unshift(snapshot.name);
      op.logger.warn("snapshot delete failed; pruning goes on", {
        vmid,
        snapshot: snapshot.name,
        code: err.code,
      });
      // A delete that lost to someone else's lock left nothing of its own.
      if (err.code !== "LOCK_HELD")
        staleLockCleared = (await clearLeftoverDeleteLock(ctx, vmid, op, owner)) || staleLockCleared;
    }
  }
  return { ...outcome, staleLockCleared };
}

async function clearLeftoverDeleteLock(
  ctx: NodeContext,
  vmid: number,
  op: OperationScope,
  owner: string,
): Promise<boolean> {
  const config = await readConfigFile(ctx, vmid);
  if (config?.main.values.lock !== "snapshot-delete") return false;
  // Our own failed delsnapshot left it: the guard clears it via pct unlock once nothing owns it.
  await ctx.gate.ensureFree(vmid, { op, owner, leftover: "snapshot-delete" });
  return (await readConfigFile(ctx, vmid))?.main.values.lock === undefined;
}
