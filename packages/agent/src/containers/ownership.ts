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
 * ALREADY_EXISTS, never adopted and never unlocked. A bare `lock: create` placeholder carries
 * no marker: it is someone's create that is starting or crashed, so it is removed only when
 * `provesOwnPlaceholder` shows it is this request's own, and otherwise reported.
 */
export async function claimTarget(ctx: NodeContext, vmid: number, ownershipTag: string, requestId: string): Promise<ContainerConfig | null> {
  // Wait out an operation that may still own the lock (a flock, its task, its grace period)
  // before judging what the config holds; nothing is cleared here.
  const lock = await ctx.gate.settle(vmid, { requestId, owner: ownershipTag });
  const existing = await readConfigFile(ctx, vmid);
  if (!existing) return null;
  if (isCrashedPlaceholder(existing.main.values)) {
    if (!(await provesOwnPlaceholder(ctx, vmid, requestId))) throw foreignPlaceholder(ctx, vmid);
    await removeLeftover(ctx, vmid, requestId, "removing the placeholder config this request's killed create left behind");
    return null;
  }
  if (!carriesOwnership(existing.main, ownershipTag)) {
    throw new AlreadyExistsError(`CT ${vmid} already exists on node '${ctx.node}' and is not this request's`, { vmid: String(vmid), node: ctx.node });
  }
  if (lock.verdict === "STALE") await ctx.gate.ensureFree(vmid, { requestId, owner: ownershipTag });
  return existing;
}

/**
 * Whether a bare `lock: create` placeholder under `vmid` is provably this request's own: its
 * durable record says this request started the create, and that create's worker is gone.
 * Until that record exists (agent-workers' crash recovery) nothing proves it, so a
 * placeholder is never removed.
 */
export async function provesOwnPlaceholder(_ctx: NodeContext, _vmid: number, _requestId: string): Promise<boolean> {
  return false;
}

function foreignPlaceholder(ctx: NodeContext, vmid: number): AlreadyExistsError {
  return new AlreadyExistsError(
    `CT ${vmid} on node '${ctx.node}' is a 'lock: create' placeholder that nothing owns any more and that carries no ownership marker: someone's create crashed there; it is left for its owner or an operator`,
    { vmid: String(vmid), node: ctx.node, config_lock: "create" },
  );
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
