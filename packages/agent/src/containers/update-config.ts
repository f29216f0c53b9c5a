import { InvalidArgumentError } from "../errors.js";
import type { NodeContext } from "../node/node-context.js";
import { requirePattern, requireVmid } from "../node/require-valid.js";
import { runMutation } from "../pct/pct-mutation.js";
import { requireConfigFile } from "./container-reader.js";

const KEY = /^[a-z][a-z0-9_]{0,31}$/;
const VALUE = /^[^\0\n\r]{0,4096}$/;
// Keys that `pct set` must never be asked to touch: the lock belongs to Proxmox's own
// operations, and snapshot bookkeeping to pct snapshot.
const FORBIDDEN_KEYS = new Set(["lock", "parent", "snaptime", "snapstate", "digest"]);

/** Sets and deletes config keys through `pct set`; only keys whose value differs are sent. */
export async function updateConfig(ctx: NodeContext, vmid: number, set: Readonly<Record<string, string>>, remove: readonly string[], requestId: string): Promise<{ changedKeys: string[] }> {
  requireVmid(vmid);
  for (const key of [...Object.keys(set), ...remove]) {
    requirePattern("config key", key, KEY, "a config key such as 'memory' or 'onboot'");
    if (FORBIDDEN_KEYS.has(key)) throw new InvalidArgumentError("config key", `'${key}' is managed by Proxmox and cannot be set`);
  }
  for (const value of Object.values(set)) requirePattern("config value", value, VALUE, "a single line of at most 4096 characters");
  const current = (await requireConfigFile(ctx, vmid)).main.values;
  const toSet = Object.entries(set).filter(([key, value]) => current[key] !== value);
  const toDelete = remove.filter((key) => current[key] !== undefined);
  if (toSet.length === 0 && toDelete.length === 0) return { changedKeys: [] };
  const args = ["set", String(vmid), ...toSet.flatMap(([key, value]) => [`--${key}`, value])];
  if (toDelete.length > 0) args.push("--delete", toDelete.join(","));
  await runMutation(ctx, vmid, args, { requestId, timeoutMs: ctx.timeouts.powerMs });
  return { changedKeys: [...toSet.map(([key]) => key), ...toDelete].sort() };
}
