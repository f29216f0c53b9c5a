import type { CallRecord } from "@lockstep/sim";
import type { Bystander } from "./bystanders.js";
import { backsUp } from "./stale-lock-clears.js";

// `pct` commands that change a guest (mount and fstrim set its lock).
const CHANGES = new Set([
  "create",
  "clone",
  "set",
  "start",
  "stop",
  "shutdown",
  "destroy",
  "push",
  "exec",
  "snapshot",
  "delsnapshot",
  "rollback",
  "unlock",
  "mount",
  "unmount",
  "fstrim",
]);

/**
 * Others' guests: no agent call changed them, and each config is as it was made, or differs
 * only by a `lock: backup` that a vzdump task of the guest on its node left. vzdump only warns
 * when its own unlock fails (pve-manager PVE/VZDump.pm exec_backup_task: `eval {
 * $plugin->unlock_vm($vmid) }; warn $@ if $@`), on a pmxcfs without quorum say: that lock is
 * Proxmox's doing and the guest's owner's to clear, never Lockstep's.
 */
export function foreignGuestChanges(
  calls: ReadonlyMap<string, readonly CallRecord[]>,
  bystanders: readonly Bystander[],
  configNow: (guest: Bystander) => string,
): { agentCalls: number; violations: string[] } {
  const violations: string[] = [];
  const theirs = new Set(bystanders.map((b) => b.vmid));
  let agentCalls = 0;
  for (const [node, log] of calls) {
    for (const call of log) {
      if (call.event !== "start" || call.caller !== undefined || call.vmid === null || !theirs.has(call.vmid)) continue;
      agentCalls++;
      if (CHANGES.has(call.argv[0]!))
        violations.push(`${node}/${call.vmid}: the agent ran 'pct ${call.argv.join(" ")}' on someone else's guest`);
    }
  }
  for (const b of bystanders) {
    const now = configNow(b);
    if (now === b.config || (withoutBackupLock(now) === b.config && backedUpOn(calls.get(b.node) ?? [], b.vmid)))
      continue;
    violations.push(`${b.node}/${b.vmid} (${b.type}): its config changed or vanished`);
  }
  return { agentCalls, violations };
}

// pve-container src/PVE/LXC/Config.pm write_pct_config: `lock` is one `key: value` line of the
// main section, which comes before any `[snapshot]` section.
const withoutBackupLock = (config: string): string => config.replace(/^lock: backup\n/m, "");

const backedUpOn = (log: readonly CallRecord[], vmid: number): boolean =>
  log.some((e) => e.event === "task-start" && backsUp(e.upid, vmid));
