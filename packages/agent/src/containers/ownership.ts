import { AlreadyExistsError } from "../errors.js";
import { parseTags, type ConfigSection, type ContainerConfig } from "../node/container-config.js";
import type { NodeContext } from "../node/node-context.js";
import { runMutation } from "../pct/pct-mutation.js";
import { readConfigFile } from "./container-reader.js";

/**
 * The description line that marks a container as a request's own where its tags cannot be
 * set in the same step (`pct clone` has no `--tags`).
 */
export function ownershipMarker(tag: string): string {
  return `lockstep-owner=${tag}`;
}

/** Whether a container carries `tag`: among its tags, or as the exact marker line of its description. */
export function carriesOwnership(section: ConfigSection, tag: string): boolean {
  if (!tag) return false;
  return parseTags(section.values.tags).includes(tag) || section.description.split("\n").includes(ownershipMarker(tag));
}

/**
 * What a create or a clone finds under its target VMID: null when the VMID is free, the
 * config when it carries this request's ownership marker; anyone else's container is
 * ALREADY_EXISTS and is never adopted. A bare `lock: create` placeholder is what a killed
 * create (or a clone killed before writing its config) leaves behind: it holds no disks, so
 * it is destroyed and the VMID reported free.
 */
export async function claimTarget(ctx: NodeContext, vmid: number, ownershipTag: string, requestId: string): Promise<ContainerConfig | null> {
  // Wait out an operation still running (its flock is HELD) before judging what the config
  // holds; a placeholder is only a crashed one's once nobody holds its lock.
  await ctx.gate.ensureFree(vmid, { requestId });
  const existing = await readConfigFile(ctx, vmid);
  if (!existing) return null;
  if (isCrashedPlaceholder(existing.main.values)) {
    await removeLeftover(ctx, vmid, requestId, "removing the placeholder config a killed create left behind");
    return null;
  }
  if (carriesOwnership(existing.main, ownershipTag)) return existing;
  throw new AlreadyExistsError(`CT ${vmid} already exists on node '${ctx.node}' and is not this request's`, { vmid: String(vmid), node: ctx.node });
}

/** Destroys what an interrupted operation of this request left under `vmid`, saying why. */
export async function removeLeftover(ctx: NodeContext, vmid: number, requestId: string, why: string): Promise<void> {
  ctx.logger.warn(why, { vmid, requestId });
  await runMutation(ctx, vmid, ["destroy", String(vmid)], { requestId, timeoutMs: ctx.timeouts.destroyMs });
}

/** The placeholder a killed create leaves: `lock: create` alone (or nothing, once unlocked). */
function isCrashedPlaceholder(values: Readonly<Record<string, string>>): boolean {
  return Object.keys(values).every((key) => key === "lock") && (values.lock ?? "create") === "create";
}
