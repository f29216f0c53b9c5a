import path from "node:path";
import { InvalidArgumentError, LockHeldError, NotFoundError } from "../errors.js";
import { withConfigFlock } from "../node/config-flock.js";
import { editMainSection } from "../node/config-file-edit.js";
import { parseContainerConfig } from "../node/container-config.js";
import type { NodeContext } from "../node/node-context.js";
import type { OperationScope } from "../pct/operation-scope.js";

/**
 * The raw LXC keys the agent writes, each with the values it accepts. Raw keys go straight
 * to LXC, past Proxmox's checks, so each one is allowed deliberately.
 */
const ALLOWED: Readonly<Record<string, RegExp>> = {
  // A profile name as AppArmor loads it (unconfined, generated, lxc-container-default-cgns):
  // never a path, never an option.
  "lxc.apparmor.profile": /^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127}$/,
};

/** Whether `key` names a raw LXC key (which `pct set` refuses). */
export function isRawLxcKey(key: string): boolean {
  return key.startsWith("lxc.");
}

/** Throws INVALID_ARGUMENT naming the first key (or value) the allow-list does not accept. */
export function requireAllowedLxc(set: Readonly<Record<string, string>>, remove: readonly string[]): void {
  for (const key of [...Object.keys(set), ...remove]) {
    if (!Object.hasOwn(ALLOWED, key))
      throw new InvalidArgumentError(
        key,
        `is not a raw LXC key the agent sets (allowed: ${Object.keys(ALLOWED).join(", ")})`,
      );
  }
  for (const [key, value] of Object.entries(set)) {
    if (!ALLOWED[key]!.test(value)) throw new InvalidArgumentError(key, `must match ${ALLOWED[key]!.source}`);
  }
}

/**
 * Writes raw `lxc.*` keys into the container's config file: `pct set` refuses them, so the
 * agent edits `/etc/pve/lxc/<vmid>.conf` itself, under the config flock every Proxmox writer
 * takes, changing only the keys whose value differs and writing nothing when none does.
 * Returns the keys changed.
 */
export async function writeRawLxcKeys(
  ctx: NodeContext,
  vmid: number,
  set: Readonly<Record<string, string>>,
  remove: readonly string[],
  op: OperationScope,
  owner: string,
): Promise<string[]> {
  const file = path.join(ctx.paths.configDir, `${vmid}.conf`);
  await ctx.gate.ensureFree(vmid, { op, owner });
  return withConfigFlock(ctx.paths, vmid, async () => {
    // Read again under the lock: this is the text the edit must keep byte for byte.
    const text = await ctx.clusterFs.readFile(file);
    if (text === null) throw new NotFoundError(`CT ${vmid} does not exist on this node`, { vmid: String(vmid) });
    const current = parseContainerConfig(text).main.values;
    // As Proxmox's check_lock: a `lock:` set since the gate looked belongs to a running operation.
    if (current.lock) throw new LockHeldError(vmid, `CT ${vmid} is locked (${current.lock})`);
    const toSet = Object.fromEntries(Object.entries(set).filter(([key, value]) => current[key] !== value));
    const toRemove = remove.filter((key) => current[key] !== undefined);
    const changed = [...Object.keys(toSet), ...toRemove];
    if (changed.length === 0) return [];
    await ctx.clusterFs.writeFile(file, editMainSection(text, toSet, toRemove));
    op.logger.info("wrote raw lxc keys into the config file", { vmid, keys: changed });
    return changed;
  });
}
