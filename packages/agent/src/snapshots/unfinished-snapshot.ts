import type { ConfigSection } from "../node/container-config.js";
import type { NodeContext } from "../node/node-context.js";
import type { OperationScope } from "../pct/operation-scope.js";
import { runMutation } from "../pct/pct-mutation.js";

/**
 * Whether a snapshot section is a snapshot that never finished: Proxmox writes the section at
 * prepare with `snapstate: prepare` and removes the key at commit (pve-guest-common
 * src/PVE/AbstractConfig.pm __snapshot_prepare, __snapshot_commit); a delete marks it
 * `snapstate: delete` first (snapshot_delete). A worker killed in between leaves the key.
 */
export function isUnfinishedSnapshot(section: ConfigSection): boolean {
  return section.values.snapstate !== undefined;
}

/**
 * Removes the section (and whatever storage snapshots exist) of an unfinished snapshot:
 * `pct delsnapshot --force`, since its storage snapshots may never have been taken. Its own
 * `lock: snapshot`/`snapshot-delete` would make Proxmox refuse (set_lock dies "CT is locked"):
 * runMutation's pre-flight gate clears it when it is stale on a container that is Lockstep's.
 */
export async function removeUnfinishedSnapshot(
  ctx: NodeContext,
  vmid: number,
  name: string,
  op: OperationScope,
  owner: string,
): Promise<void> {
  op.logger.warn("removing a snapshot that never finished (snapstate in its section)", {
    vmid,
    snapshot: name,
  });
  await runMutation(ctx, vmid, ["delsnapshot", String(vmid), name, "--force", "1"], {
    op,
    owner,
    timeoutMs: ctx.timeouts.snapshotMs,
  });
}
