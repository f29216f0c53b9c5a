import { AlreadyExistsError } from "../errors.js";
import { listClusterVms } from "../node/cluster-vms.js";
import { parseTags, type ConfigSection, type ContainerConfig } from "../node/container-config.js";
import type { LockReportView } from "../locks/lock-report.js";
import type { NodeContext } from "../node/node-context.js";
import type { OperationScope } from "../pct/operation-scope.js";
import { pctFailure } from "../pct/pct-failure.js";
import { runMutation, runReportingUnresponsive } from "../pct/pct-mutation.js";
import { lastTaskOutcome } from "../pct/task-history.js";
import { liveTaskWorkers } from "../pct/task-worker.js";
import { readConfigFile, requireConfigFile } from "./container-reader.js";

/**
 * The description line that marks a container as a request's own while it is being made:
 * `pct create` and `pct clone` write it, and the ownership tag is added only once they exited
 * 0, so that marker-without-tag means "not finished" (create-container.ts).
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
 * What a create or a clone finds under its target VMID: null when the VMID is free (or was
 * freed of this request's own unfinished work), the config when it is this request's
 * FINISHED container (its tags carry `ownershipTag`: the tag is only added once `pct create`
 * or `pct clone` exited 0, see create-container.ts). Anything else is ALREADY_EXISTS and is
 * never adopted, unlocked nor removed: anyone else's container, and a placeholder this agent
 * cannot prove its own (`provenOwnLeftover`).
 */
export async function claimTarget(
  ctx: NodeContext,
  vmid: number,
  ownershipTag: string,
  op: OperationScope,
  sourceVmid?: number,
): Promise<ContainerConfig | null> {
  await refuseClusterVm(ctx, vmid);
  // Wait out an operation that may still own the lock (a flock, its task, its grace period)
  // before judging what the config holds; nothing is cleared here.
  const lock = await ctx.gate.settle(vmid, { op, owner: ownershipTag });
  const existing = await readConfigFile(ctx, vmid);
  if (!existing) return null;
  if (ownershipTag && parseTags(existing.main.values.tags).includes(ownershipTag)) {
    // Our own finished container: a stale lock left on it by a crash is ours to clear.
    if (lock.verdict === "STALE") await ctx.gate.ensureFree(vmid, { op, owner: ownershipTag });
    return existing;
  }
  if (await completedUntagged(ctx, vmid, ownershipTag, existing, lock)) {
    op.logger.warn("adopting this request's create that completed but was never tagged; adding its tag", {
      vmid,
    });
    await addOwnershipTag(ctx, vmid, ownershipTag, op);
    await ctx.intents.clear(vmid);
    return (await readConfigFile(ctx, vmid)) ?? existing;
  }
  if (await provenOwnLeftover(ctx, vmid, ownershipTag, existing, sourceVmid)) {
    await removeOwnLeftover(
      ctx,
      vmid,
      op,
      "removing what this request's own unfinished create left (marked as its own, never tagged as finished)",
    );
    return null;
  }
  if (isBarePlaceholder(existing.main.values)) {
    throw new AlreadyExistsError(
      `CT ${vmid} on node '${ctx.node}' is a create placeholder (lock: create) that this agent did not make for this request: someone's create is starting or crashed there; it is left alone`,
      { vmid: String(vmid), node: ctx.node, config_lock: existing.main.values.lock ?? "" },
    );
  }
  throw new AlreadyExistsError(`CT ${vmid} already exists on node '${ctx.node}' and is not this request's`, {
    vmid: String(vmid),
    node: ctx.node,
  });
}

/**
 * A QEMU VM holds its VMID cluster-wide: `pct create` or `pct clone` would only be refused there
 * (pve-cluster src/PVE/Cluster.pm check_vmid_unused, `VM <id> already exists on node '<n>'`).
 * The agent answers that itself, with the same ALREADY_EXISTS, so that it never runs a
 * mutating `pct` call on someone else's guest, not even one Proxmox would refuse.
 */
async function refuseClusterVm(ctx: NodeContext, vmid: number): Promise<void> {
  const vm = (await listClusterVms(ctx.paths, ctx.clusterFs)).find((candidate) => candidate.vmid === vmid);
  if (vm)
    throw new AlreadyExistsError(`VM ${vmid} already exists on node '${vm.node}'`, {
      vmid: String(vmid),
      node: vm.node,
      guest_type: "qemu",
    });
}

/**
 * Whether what is under `vmid` is provably the leftover of THIS request's own create (or
 * clone) that did not finish, and nothing of it still runs:
 * - no live Proxmox task under `vmid` (nor under the clone's source, where a clone is listed);
 * - and either the config carries this tag's marker in its description but not the tag (a
 *   create that died after its "safe config", pve-container src/PVE/API2/LXC.pm create_vm,
 *   or before the tag was set),
 * - or it is a bare `lock: create` placeholder (no marker possible) and the agent's durable
 *   intent record says it started a create of `vmid` for this tag.
 * The one function by which crash recovery and the lock decisions agree on "ours".
 */
export async function provenOwnLeftover(
  ctx: NodeContext,
  vmid: number,
  ownershipTag: string,
  config: ContainerConfig,
  sourceVmid?: number,
): Promise<boolean> {
  if (!ownershipTag) return false;
  const tasks = await liveTaskWorkers(ctx.paths.tasksActive, ctx.proc);
  if (tasks.some((task) => task.id === String(vmid) || (sourceVmid !== undefined && task.id === String(sourceVmid))))
    return false;
  const main = config.main;
  if (main.description.split("\n").includes(ownershipMarker(ownershipTag)))
    return !parseTags(main.values.tags).includes(ownershipTag);
  if (!isBarePlaceholder(main.values)) return false;
  const intent = await ctx.intents.get(vmid);
  return intent?.op === "create" && intent.ownershipTag === ownershipTag;
}

/**
 * This request's create that finished but carries its marker, not yet its tag: complete, so
 * only the tag is missing. Finished is proven by the agent's durable intent (`pct create`
 * exited 0 and the agent said so before tagging) or, when the agent died before it could say
 * so, by Proxmox's own record: the `vzcreate` task of this VMID started since the intent ended
 * `TASK OK` (its `pct` outlived the agent and saw the worker finish). On disk the create's
 * "safe config" and its final one cannot be told apart (create-container.ts), so nothing else
 * counts. The config holds no `lock:`, or one that nothing owns any more (`settled` STALE): a
 * backup of the finished container whose own unlock failed leaves `lock: backup` (pve-manager
 * PVE/VZDump.pm exec_backup_task only warns then), and the tagging clears it as ours.
 */
async function completedUntagged(
  ctx: NodeContext,
  vmid: number,
  ownershipTag: string,
  config: ContainerConfig,
  settled: LockReportView,
): Promise<boolean> {
  if (
    !ownershipTag ||
    !config.main.description.split("\n").includes(ownershipMarker(ownershipTag)) ||
    parseTags(config.main.values.tags).includes(ownershipTag)
  )
    return false;
  const intent = await ctx.intents.get(vmid);
  const lock = config.main.values.lock;
  if (intent?.op !== "create" || intent.ownershipTag !== ownershipTag) return false;
  if (lock !== undefined && !(settled.verdict === "STALE" && settled.configLock === lock)) return false;
  if (intent.created === true) return true;
  const task = await lastTaskOutcome(
    ctx.paths.tasksActive,
    "vzcreate",
    String(vmid),
    Math.floor(intent.startedMs / 1000),
  );
  return task?.succeeded === true;
}

/**
 * Removes a leftover of Lockstep's own proven by the caller: its own `lock:` first, since
 * Proxmox refuses to destroy any locked CT (pve-container src/PVE/API2/LXC.pm destroy_vm:
 * check_lock), then `pct destroy --destroy-unreferenced-disks 1`, which also frees the
 * volumes a killed create allocated but never wrote into the config (PVE/LXC.pm
 * destroy_lxc_container, $purge_unreferenced).
 */
export async function removeOwnLeftover(
  ctx: NodeContext,
  vmid: number,
  op: OperationScope,
  why: string,
): Promise<void> {
  op.logger.warn(why, { vmid });
  const config = await readConfigFile(ctx, vmid);
  if (!config) return;
  if (config.main.values.lock !== undefined) {
    const unlocked = await runReportingUnresponsive(ctx, vmid, ["unlock", String(vmid)], {
      op,
      timeoutMs: ctx.timeouts.readMs,
    });
    if (unlocked.exitCode !== 0) throw pctFailure(["unlock", String(vmid)], unlocked, vmid);
  }
  await runMutation(ctx, vmid, ["destroy", String(vmid), "--destroy-unreferenced-disks", "1"], {
    op,
    timeoutMs: ctx.timeouts.destroyMs,
  });
}

/** A placeholder: `lock: create` alone (or nothing at all, once unlocked). */
function isBarePlaceholder(values: Readonly<Record<string, string>>): boolean {
  return Object.keys(values).every((key) => key === "lock") && (values.lock ?? "create") === "create";
}

/** Adds `tag` to the container's tags, keeping the others: the mark of a finished create or clone. */
export async function addOwnershipTag(ctx: NodeContext, vmid: number, tag: string, op: OperationScope): Promise<void> {
  const tags = parseTags((await requireConfigFile(ctx, vmid)).main.values.tags);
  if (tags.includes(tag)) return;
  // As the marker's owner: a stale lock on the container (a backup's whose unlock failed) is
  // cleared first, since `pct set` refuses a locked CT (pve-container PVE/LXC/Config.pm check_lock).
  await runMutation(ctx, vmid, ["set", String(vmid), "--tags", [...tags, tag].join(";")], {
    op,
    owner: tag,
    timeoutMs: ctx.timeouts.powerMs,
  });
}
