import { ForeignContainerError, InvalidArgumentError } from "../errors.js";
import type { ConfigSection } from "../node/container-config.js";
import type { NodeContext } from "../node/node-context.js";
import { requirePattern } from "../node/require-valid.js";
import { requireConfigFile } from "./container-reader.js";
import { PROXMOX_TAG } from "./field-rules.js";
import { carriesOwnership } from "./ownership.js";

/** The request's ownership tag, checked: required (every change acts for a record), and a Proxmox tag. */
export function requireOwnershipTag(tag: string): string {
  if (!tag)
    throw new InvalidArgumentError(
      "ownership_tag",
      "is required: the tag of the record whose container this request changes",
    );
  return requirePattern(
    "ownership_tag",
    tag,
    PROXMOX_TAG,
    "a Proxmox tag: lowercase letters, digits, '_', '-', '+', '.'",
  );
}

/** Throws FOREIGN_CONTAINER unless `main` carries `tag` (among its tags, or as its description's marker line). */
export function requireCarries(ctx: NodeContext, vmid: number, main: ConfigSection, tag: string, what: string): void {
  if (!carriesOwnership(main, tag)) throw new ForeignContainerError(vmid, ctx.node, tag, what);
}

/**
 * The check every mutating request on an existing container passes before any `pct` call:
 * the tag is valid, the container exists (NOT_FOUND otherwise), and it carries the tag
 * (FOREIGN_CONTAINER otherwise: Lockstep never changes what it cannot prove its own).
 * `what` names the refused act ("start it", "push a file into it"). Returns the
 * tag, which the operation then passes as the owner of every lock check.
 */
export async function requireOwned(ctx: NodeContext, vmid: number, tag: string, what: string): Promise<string> {
  requireOwnershipTag(tag);
  const config = await requireConfigFile(ctx, vmid);
  requireCarries(ctx, vmid, config.main, tag, what);
  return tag;
}
