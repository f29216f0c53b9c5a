import { InvalidArgumentError } from "../errors.js";
import type { NodeContext } from "../node/node-context.js";
import { effectiveValue, isPending, type ContainerConfig } from "../node/container-config.js";
import { requirePattern, requireVmid } from "../node/require-valid.js";
import type { OperationScope } from "../pct/operation-scope.js";
import { runMutation } from "../pct/pct-mutation.js";
import { requirePolicy, updateAsk } from "../policy/node-policy.js";
import { requireConfigFile } from "./container-reader.js";
import { isRawLxcKey, requireAllowedLxc, writeRawLxcKeys } from "./raw-lxc-keys.js";

const KEY = /^[a-z][a-z0-9_]{0,31}$/;
// Config values are words of Proxmox's formats (numbers, names, `key=value,...` lists);
// only a description is free text, and even it stays on one line.
const VALUE = /^(?!-)(?!.*\.\.)[A-Za-z0-9_.:/=,+@-]{0,4096}$/;
const FREE_TEXT = /^[^\0\n\r]{0,4096}$/;
const TAGS = /^[a-z0-9_+.;-]{0,1024}$/;
// Keys that `pct set` must never be asked to touch: the lock belongs to Proxmox's own
// operations, and snapshot bookkeeping to pct snapshot.
const FORBIDDEN_KEYS = new Set(["lock", "parent", "snaptime", "snapstate", "digest"]);
// Keys the agent never sets: a hookscript runs a script of the node as root at every start
// of the container (pve-container src/PVE/LXC.pm check_ct_modify_config_perm: root@pam only),
// and the root disk changes through create and resize, never through `pct set`.
const NOT_SETTABLE: Readonly<Record<string, string>> = {
  hookscript: "runs a script of the node as root; Proxmox lets only root@pam set it",
  rootfs: "is the container's root disk; it is made by create and grown by resize",
};

/** One UpdateConfig request: keys to set through `pct set`, keys to delete, raw `lxc.*` keys to set. */
export interface ConfigChange {
  readonly set: Readonly<Record<string, string>>;
  /** Ordinary keys and `lxc.*` keys alike. */
  readonly remove: readonly string[];
  readonly lxc: Readonly<Record<string, string>>;
}

/** What UpdateConfig did. */
export interface ConfigUpdate {
  /** Keys whose value this call changed (applied now or queued for the next start). */
  readonly changedKeys: string[];
  /**
   * Keys of the request that take effect only at the container's next start: Proxmox keeps
   * them in `[pve:pending]` because it cannot apply them to the running container.
   */
  readonly pendingKeys: string[];
}

/**
 * Sets and deletes config keys: ordinary ones through `pct set`, raw `lxc.*` ones (which
 * `pct set` refuses) in the config file itself. Only keys whose value differs are touched,
 * compared with the value the key will have at the next start (the pending one, if any), so
 * a change Proxmox keeps pending is not made again on every apply.
 */
export async function updateConfig(
  ctx: NodeContext,
  vmid: number,
  change: ConfigChange,
  op: OperationScope,
  owner: string,
): Promise<ConfigUpdate> {
  requireVmid(vmid);
  const remove = change.remove.filter((key) => !isRawLxcKey(key));
  const removeLxc = change.remove.filter(isRawLxcKey);
  for (const key of [...Object.keys(change.set), ...remove]) {
    requirePattern("config key", key, KEY, "a config key such as 'memory' or 'onboot'");
    if (FORBIDDEN_KEYS.has(key))
      throw new InvalidArgumentError("config key", `'${key}' is managed by Proxmox and cannot be set`);
  }
  for (const [key, value] of Object.entries(change.set)) {
    if (Object.hasOwn(NOT_SETTABLE, key))
      throw new InvalidArgumentError("config key", `'${key}' cannot be set through the agent: it ${NOT_SETTABLE[key]}`);
    if (key === "description")
      requirePattern("config value", value, FREE_TEXT, "a single line of at most 4096 characters");
    else if (key === "tags") requirePattern("config value", value, TAGS, "Proxmox tags separated by ';'");
    else
      requirePattern(
        "config value",
        value,
        VALUE,
        "letters, digits and . _ : / = , + @ - (no '..', spaces or shell metacharacters)",
      );
  }
  requireAllowedLxc(change.lxc, removeLxc);
  requirePolicy(ctx, vmid, updateAsk(change), op);
  const config = await requireConfigFile(ctx, vmid);
  const current = config.main.values;
  const toSet = Object.entries(change.set).filter(([key, value]) => effectiveValue(config, key) !== value);
  const toRevert = remove.filter((key) => config.pending?.values[key] !== undefined);
  const toDelete = remove.filter((key) => current[key] !== undefined && !config.pending?.deletions.has(key));
  const changed = new Set<string>();
  // Proxmox refuses `--delete k` together with `--revert k`, so a pending value is dropped
  // (`--revert`, pve-container src/PVE/LXC/Config.pm update_pct_config) before the delete.
  if (toRevert.length > 0) {
    await runMutation(ctx, vmid, ["set", String(vmid), "--revert", toRevert.join(",")], {
      op,
      owner,
      timeoutMs: ctx.timeouts.powerMs,
    });
    toRevert.forEach((key) => changed.add(key));
  }
  if (toSet.length > 0 || toDelete.length > 0) {
    const args = ["set", String(vmid), ...toSet.flatMap(([key, value]) => [`--${key}`, value])];
    if (toDelete.length > 0) args.push("--delete", toDelete.join(","));
    await runMutation(ctx, vmid, args, { op, owner, timeoutMs: ctx.timeouts.powerMs });
    [...toSet.map(([key]) => key), ...toDelete].forEach((key) => changed.add(key));
  }
  const lxcDiffers =
    Object.entries(change.lxc).some(([key, value]) => current[key] !== value) ||
    removeLxc.some((key) => current[key] !== undefined);
  if (lxcDiffers)
    (await writeRawLxcKeys(ctx, vmid, change.lxc, removeLxc, op, owner)).forEach((key) => changed.add(key));
  const after = changed.size > 0 ? await requireConfigFile(ctx, vmid) : config;
  return { changedKeys: [...changed].sort(), pendingKeys: pendingOf(after, [...Object.keys(change.set), ...remove]) };
}

/** The requested keys that wait for the next start. */
function pendingOf(config: ContainerConfig, keys: readonly string[]): string[] {
  return [...new Set(keys.filter((key) => isPending(config, key)))].sort();
}
