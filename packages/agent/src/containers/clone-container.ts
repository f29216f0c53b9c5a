import { hostnameProblem, snapshotNameProblem, vmidProblem } from "@lockstep/shared";
import { InvalidArgumentError, NotFoundError } from "../errors.js";
import type { NodeContext } from "../node/node-context.js";
import { requirePattern, requireValid, requireVmid } from "../node/require-valid.js";
import type { OperationScope } from "../pct/operation-scope.js";
import { runMutation } from "../pct/pct-mutation.js";
import { cloneAsk, cloneSourceAsk, requirePolicy } from "../policy/node-policy.js";
import { getContainer, requireConfigFile } from "./container-reader.js";
import { forgetUnlessLeftBehind, outcomeUnknown, type CreateOutcome } from "./create-container.js";
import { PROXMOX_TAG, requireDescription, STORAGE_ID } from "./field-rules.js";
import { addOwnershipTag, claimTarget, ownershipMarker } from "./ownership.js";

export interface CloneSpec {
  /** The new container. */
  readonly vmid: number;
  readonly sourceVmid: number;
  /** A snapshot of the source to clone; empty: its current state. */
  readonly snapshot: string;
  /** Empty: the source's. */
  readonly hostname: string;
  /** Ask for a full copy; otherwise Proxmox decides (linked for a template, full for any other CT). */
  readonly full: boolean;
  /** Target storage of a full clone; empty: the source's. */
  readonly storage: string;
  readonly description: string;
}

/**
 * Clones a container with `pct clone`, converging like a create. `pct clone` cannot set
 * tags, so the ownership marker goes into the description (written with the clone's config,
 * in the same step) and the tag is added with `pct set` afterwards: a target carrying the
 * tag is a finished clone of this request's; one carrying the marker only in its description
 * is an unfinished one (killed mid-copy, or before its tag was set), which is destroyed and
 * cloned again. The description is the marker line, then the request's description.
 */
export async function cloneContainer(
  ctx: NodeContext,
  spec: CloneSpec,
  ownershipTag: string,
  op: OperationScope,
): Promise<CreateOutcome> {
  validate(spec, ownershipTag);
  requirePolicy(ctx, spec.vmid, cloneAsk(spec), op);
  // Proxmox lists a running clone as a `vzclone` task of the SOURCE and sets `lock: disk`
  // there: waiting on the source waits such a clone out, and clears the lock a killed one left.
  await ctx.gate.ensureFree(spec.sourceVmid, { op });
  const source = await requireConfigFile(ctx, spec.sourceVmid);
  if (spec.snapshot && !source.snapshots.has(spec.snapshot)) {
    throw new NotFoundError(`snapshot '${spec.snapshot}' of CT ${spec.sourceVmid} does not exist`, {
      vmid: String(spec.sourceVmid),
      snapshot: spec.snapshot,
    });
  }
  // A clone copies its source's configuration (or the snapshot's): it is checked as asked for.
  requirePolicy(ctx, spec.vmid, cloneSourceAsk(source.snapshots.get(spec.snapshot) ?? source.main), op);
  // Proxmox's own default: a full copy unless the source is a template.
  if (spec.storage && !spec.full && source.main.values.template === "1")
    throw new InvalidArgumentError(
      "storage",
      "is only allowed with full: a linked clone stays on the template's storage",
    );
  if (await claimTarget(ctx, spec.vmid, ownershipTag, op, spec.sourceVmid))
    return { container: await getContainer(ctx, spec.vmid), alreadyExisted: true };
  await ctx.intents.record({
    op: "create",
    vmid: spec.vmid,
    ownershipTag,
    requestId: op.requestId,
    startedMs: ctx.clock.now(),
  });
  try {
    await runMutation(ctx, spec.vmid, cloneArgs(spec, ownershipTag), { op, timeoutMs: ctx.timeouts.createMs });
    if (ownershipTag) await addOwnershipTag(ctx, spec.vmid, ownershipTag, op);
  } catch (err) {
    if (outcomeUnknown(err))
      op.logger.error("clone outcome unknown or still running; nothing is rolled back", {
        vmid: spec.vmid,
      });
    else await forgetUnlessLeftBehind(ctx, spec.vmid, op);
    throw err;
  }
  await ctx.intents.clear(spec.vmid);
  return { container: await getContainer(ctx, spec.vmid), alreadyExisted: false };
}

function cloneArgs(spec: CloneSpec, ownershipTag: string): string[] {
  const args = ["clone", String(spec.sourceVmid), String(spec.vmid)];
  if (spec.snapshot) args.push("--snapname", spec.snapshot);
  if (spec.hostname) args.push("--hostname", spec.hostname);
  if (spec.full) args.push("--full", "1");
  if (spec.storage) args.push("--storage", spec.storage);
  const description = cloneDescription(spec, ownershipTag);
  if (description) args.push("--description", description);
  return args;
}

function cloneDescription(spec: CloneSpec, ownershipTag: string): string {
  return [
    ...(ownershipTag ? [ownershipMarker(ownershipTag)] : []),
    ...(spec.description ? [spec.description] : []),
  ].join("\n");
}

function validate(spec: CloneSpec, ownershipTag: string): void {
  requireVmid(spec.vmid);
  requireValid("source_vmid", spec.sourceVmid, vmidProblem);
  if (spec.vmid === spec.sourceVmid) throw new InvalidArgumentError("vmid", "must differ from source_vmid");
  if (spec.hostname) requireValid("hostname", spec.hostname, hostnameProblem);
  if (spec.snapshot) requireValid("snapshot", spec.snapshot, snapshotNameProblem);
  if (spec.storage) requirePattern("storage", spec.storage, STORAGE_ID, "a storage ID");
  if (ownershipTag)
    requirePattern(
      "ownership_tag",
      ownershipTag,
      PROXMOX_TAG,
      "a Proxmox tag: lowercase letters, digits, '_', '-', '+', '.'",
    );
  requireDescription(spec.description);
  requireDescription(cloneDescription(spec, ownershipTag));
}
