import { snapshotNameProblem } from "@lockstep/shared";
import { InvalidArgumentError, NotFoundError } from "../errors.js";
import type { NodeContext } from "../node/node-context.js";
import { requireValid, requireVmid } from "../node/require-valid.js";
import type { OperationScope } from "../pct/operation-scope.js";
import { runMutation } from "../pct/pct-mutation.js";
import { listSnapshots, unfinishedSnapshotNames, type SnapshotView } from "./list-snapshots.js";
import { removeUnfinishedSnapshot } from "./unfinished-snapshot.js";

/**
 * Takes a snapshot; one that already exists under this name is returned as is (a retry
 * converged). One that never finished under this name (killed between prepare and commit)
 * is removed first and taken again.
 */
export async function createSnapshot(
  ctx: NodeContext,
  vmid: number,
  name: string,
  description: string,
  op: OperationScope,
  owner: string,
): Promise<SnapshotView> {
  requireVmid(vmid);
  requireValid("name", name, snapshotNameProblem);
  if (description.length > 8192 || description.includes("\0"))
    throw new InvalidArgumentError("description", "must be at most 8192 characters without NUL");
  const existing = (await listSnapshots(ctx, vmid)).find((s) => s.name === name);
  if (existing) return existing;
  if ((await unfinishedSnapshotNames(ctx, vmid)).includes(name))
    await removeUnfinishedSnapshot(ctx, vmid, name, op, owner);
  const args = ["snapshot", String(vmid), name];
  if (description) args.push("--description", description);
  await runMutation(ctx, vmid, args, { op, owner, timeoutMs: ctx.timeouts.snapshotMs });
  const made = (await listSnapshots(ctx, vmid)).find((s) => s.name === name);
  if (!made)
    throw new NotFoundError(`snapshot '${name}' of CT ${vmid} is missing right after pct snapshot succeeded`, {
      vmid: String(vmid),
    });
  return made;
}

/** Deletes a snapshot; one already gone is success (`alreadyGone`); one that never finished is removed with `--force`. */
export async function deleteSnapshot(
  ctx: NodeContext,
  vmid: number,
  name: string,
  force: boolean,
  op: OperationScope,
  owner: string,
): Promise<{ alreadyGone: boolean }> {
  requireVmid(vmid);
  requireValid("name", name, snapshotNameProblem);
  if ((await unfinishedSnapshotNames(ctx, vmid)).includes(name)) {
    await removeUnfinishedSnapshot(ctx, vmid, name, op, owner);
    return { alreadyGone: false };
  }
  if (!(await listSnapshots(ctx, vmid)).some((s) => s.name === name)) return { alreadyGone: true };
  const args = ["delsnapshot", String(vmid), name];
  if (force) args.push("--force", "1");
  try {
    await runMutation(ctx, vmid, args, { op, owner, timeoutMs: ctx.timeouts.snapshotMs });
    return { alreadyGone: false };
  } catch (err) {
    if (err instanceof NotFoundError && err.metadata.snapshot === name) return { alreadyGone: true };
    throw err;
  }
}
