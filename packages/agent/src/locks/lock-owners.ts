import type { ActiveTaskView } from "./lock-report.js";

/**
 * Who can own one `lock:` value on a real node, read from Proxmox's source (the same in PVE 8
 * and 9). A value is `task-owned` when its operation always holds the config flock or runs in
 * a task for its whole life: only then does "no flock, no such task" prove a crash. `operator`
 * values have neither, so nothing on the node can prove them abandoned.
 */
export type LockOwnership =
  | { readonly kind: "task-owned"; readonly owners: readonly TaskOwner[] }
  | { readonly kind: "operator"; readonly why: string };

/** A task type that may own the value, and under which id field it is listed. */
export interface TaskOwner {
  readonly type: string;
  /** `same`: listed under the locked VMID; `empty`: an empty id field; `any`: any id. */
  readonly listed: "same" | "empty" | "any";
}

const same = (type: string): TaskOwner => ({ type, listed: "same" });

/** Keyed by the values of pve-container src/PVE/LXC/Config.pm's `lock` enum (all of them). */
const TABLE: Readonly<Record<string, LockOwnership>> = {
  // API2/LXC.pm create_vm: placeholder by create_and_lock_config, then fork_worker('vzcreate'
  // or 'vzrestore', $vmid) holding lock_config for the build. clone_vm: the target's
  // placeholder is owned by fork_worker('vzclone', $vmid) under the SOURCE VMID, which takes the
  // target's flock only around config writes. mtunnel: a remote migration's target placeholder
  // under fork_worker('vzmtunnel', $vmid).
  create: {
    kind: "task-owned",
    owners: [same("vzcreate"), same("vzrestore"), same("vzmtunnel"), { type: "vzclone", listed: "any" }],
  },
  // API2/LXC.pm destroy_vm: fork_worker('vzdestroy') runs destroy_lxc_container inside lock_config.
  destroyed: { kind: "task-owned", owners: [same("vzdestroy")] },
  // API2/LXC.pm clone_vm: set_lock($vmid, 'disk') on the source, task 'vzclone' under it;
  // move_volume: set_lock($vmid, 'disk'), task 'move_volume' (a reassign names another CT, so any id).
  disk: { kind: "task-owned", owners: [same("vzclone"), { type: "move_volume", listed: "any" }] },
  // LXC/Migrate.pm prepare sets `lock: migrate` inside fork_worker('vzmigrate', $vmid) (remote
  // migration: under the source VMID, which is this one).
  migrate: { kind: "task-owned", owners: [same("vzmigrate")] },
  // API2/LXC/Snapshot.pm rollback: fork_worker('vzrollback', $vmid).
  rollback: { kind: "task-owned", owners: [same("vzrollback")] },
  // API2/LXC/Snapshot.pm snapshot: fork_worker('vzsnapshot'); VZDump/LXC.pm snapshot:
  // snapshot_create($vmid, 'vzdump') inside a vzdump task (empty id when several guests).
  snapshot: { kind: "task-owned", owners: [same("vzsnapshot"), same("vzdump"), { type: "vzdump", listed: "empty" }] },
  // API2/LXC/Snapshot.pm delsnapshot: fork_worker('vzdelsnapshot'); VZDump/LXC.pm cleanup and
  // prepare: snapshot_delete($vmid, 'vzdump') inside a vzdump task.
  "snapshot-delete": {
    kind: "task-owned",
    owners: [same("vzdelsnapshot"), same("vzdump"), { type: "vzdump", listed: "empty" }],
  },
  // VZDump/LXC.pm lock_vm: set_lock($vmid, 'backup'), flocked only briefly, inside
  // pve-manager API2/VZDump.pm fork_worker('vzdump', $taskid): $taskid is the VMID only when
  // the job has exactly one local guest, otherwise empty.
  backup: { kind: "task-owned", owners: [same("vzdump"), { type: "vzdump", listed: "empty" }] },
  // CLI/pct.pm mount: set_lock($vmid, 'mounted') in the CLI process, kept until `pct unmount`.
  mounted: { kind: "operator", why: "'pct mount' holds it until 'pct unmount' (no task, no flock)" },
  // CLI/pct.pm fstrim: set_lock($vmid, 'fstrim') in the CLI process, no task, no flock.
  fstrim: { kind: "operator", why: "'pct fstrim' holds it in its own process (no task, no flock)" },
};

/** The table's entry for a `lock:` value; null for a value the table does not know. */
export function lockOwnership(value: string): LockOwnership | null {
  return Object.hasOwn(TABLE, value) ? TABLE[value]! : null;
}

/** The live tasks that may own `value` on `vmid`. */
export function owningTasks(value: string, vmid: number, tasks: readonly ActiveTaskView[]): ActiveTaskView[] {
  const entry = lockOwnership(value);
  if (entry?.kind !== "task-owned") return [];
  return tasks.filter((task) => entry.owners.some((o) => o.type === task.type && listedAs(o, task, vmid)));
}

function listedAs(owner: TaskOwner, task: ActiveTaskView, vmid: number): boolean {
  if (owner.listed === "any") return true;
  if (owner.listed === "empty") return task.id === "";
  return task.id === String(vmid);
}
