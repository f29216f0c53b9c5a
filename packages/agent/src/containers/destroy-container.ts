import { FailedPreconditionError, NotFoundError } from "../errors.js";
import type { ContainerConfig } from "../node/container-config.js";
import type { NodeContext } from "../node/node-context.js";
import { requireVmid } from "../node/require-valid.js";
import type { OperationScope } from "../pct/operation-scope.js";
import { runMutation } from "../pct/pct-mutation.js";
import { readConfigFile } from "./container-reader.js";
import { outcomeUnknown } from "./create-container.js";
import { provenOwnLeftover, removeOwnLeftover } from "./ownership.js";
import { requireCarries, requireOwnershipTag } from "./require-owned.js";

/**
 * Destroys the container of the record whose ownership tag is `ownershipTag`. Already gone is
 * success (`alreadyGone`), so a retry after a lost reply converges; a config that still
 * exists is never answered `alreadyGone`, nor one that an untrusted /etc/pve (hung, not
 * mounted, without quorum) merely does not show: that is HYPERVISOR_UNRESPONSIVE or
 * CLUSTER_NO_QUORUM (node/cluster-fs.ts). A container that does not carry the tag is
 * FOREIGN_CONTAINER and left alone. Never called because a node was unresponsive: only on
 * request.
 *
 * A destroy that died halfway leaves `lock: destroyed` ALONE (pve-container
 * src/PVE/API2/LXC.pm destroy_vm: volumes freed first, then the config replaced by
 * `{ lock => 'destroyed' }`, unlinked last). It carries no marker, so it is finished only
 * when this agent recorded that it started that destroy for this tag (its intent, written
 * before `pct destroy`): unlock, then destroy again with `--destroy-unreferenced-disks 1`.
 * Anyone else's is FAILED_PRECONDITION and left alone.
 */
export async function destroyContainer(
  ctx: NodeContext,
  vmid: number,
  options: { force: boolean; purge: boolean },
  op: OperationScope,
  ownershipTag: string,
): Promise<{ alreadyGone: boolean }> {
  requireVmid(vmid);
  requireOwnershipTag(ownershipTag);
  const config = await readConfigFile(ctx, vmid);
  const intent = await ctx.intents.get(vmid);
  if (!config) {
    if (intent?.op === "destroy") await ctx.intents.clear(vmid);
    return { alreadyGone: true };
  }
  if (isHalfwayDestroy(config)) {
    if (intent?.op !== "destroy" || intent.ownershipTag !== ownershipTag) {
      throw new FailedPreconditionError(
        `CT ${vmid} on node '${ctx.node}' is a destroy that died halfway (only 'lock: destroyed' is left) that this agent did not start for ownership tag '${ownershipTag}'; it is left alone`,
        { vmid: String(vmid), lock: "destroyed" },
      );
    }
    await removeOwnLeftover(ctx, vmid, op, "finishing this agent's destroy that died halfway (lock: destroyed alone)");
    await ctx.intents.clear(vmid);
    return { alreadyGone: false };
  }
  if (await provenOwnLeftover(ctx, vmid, ownershipTag, config)) {
    // This tag's own unfinished create (marker without tag, or a placeholder its intent names).
    await removeOwnLeftover(ctx, vmid, op, "destroying what this tag's own unfinished create left");
    await ctx.intents.clear(vmid);
    return { alreadyGone: false };
  }
  requireCarries(ctx, vmid, config.main, ownershipTag, "destroy it");
  await ctx.intents.record({ op: "destroy", vmid, ownershipTag, requestId: op.requestId, startedMs: ctx.clock.now() });
  const args = ["destroy", String(vmid)];
  if (options.force) args.push("--force", "1");
  if (options.purge) args.push("--purge", "1");
  try {
    await runMutation(ctx, vmid, args, { op, owner: ownershipTag, timeoutMs: ctx.timeouts.destroyMs });
    await ctx.intents.clear(vmid);
    return { alreadyGone: false };
  } catch (err) {
    if (!outcomeUnknown(err)) await ctx.intents.clear(vmid);
    // `pct destroy` found no config: gone only if /etc/pve can be trusted to say so.
    if (err instanceof NotFoundError) {
      await ctx.clusterFs.requireTrusted(`answer CT ${vmid} already gone`);
      return { alreadyGone: true };
    }
    throw err;
  }
}

/** What a destroy killed after freeing the volumes leaves: a config of `lock: destroyed` alone. */
function isHalfwayDestroy(config: ContainerConfig): boolean {
  const keys = Object.keys(config.main.values);
  return keys.length === 1 && config.main.values.lock === "destroyed";
}
