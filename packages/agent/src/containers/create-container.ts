import { hostnameProblem } from "@lockstep/shared";
import { LockstepError } from "@lockstep/shared";
import { InvalidArgumentError } from "../errors.js";
import type { NodeContext } from "../node/node-context.js";
import { requirePattern, requireValid, requireVmid } from "../node/require-valid.js";
import type { OperationScope } from "../pct/operation-scope.js";
import { runMutation } from "../pct/pct-mutation.js";
import { createAsk, requirePolicy } from "../policy/node-policy.js";
import { getContainer, readConfigFile, type ContainerView } from "./container-reader.js";
import { DEFAULT_ROOTFS_STORAGE, PROXMOX_TAG, requireDescription, STORAGE_ID, TEMPLATE_VOLUME } from "./field-rules.js";
import { addOwnershipTag, claimTarget, ownershipMarker } from "./ownership.js";

export interface CreateSpec {
  readonly vmid: number;
  readonly template: string;
  readonly hostname: string;
  readonly cores: number;
  readonly memoryMb: number;
  readonly swapMb: number;
  readonly storage: string;
  readonly diskGb: number;
  readonly net0: string;
  readonly unprivileged: boolean;
  readonly features: string;
  readonly tags: readonly string[];
  readonly description: string;
  readonly start: boolean;
}

export interface CreateOutcome {
  readonly container: ContainerView;
  /** The container was already there, carrying this request's ownership marker. */
  readonly alreadyExisted: boolean;
}

// Property strings: key=value pairs; no whitespace or shell/quote characters to smuggle anything.
// `key=value,...` as Proxmox writes net0 and features; no value may climb with '..'.
const PROPERTY_STRING =
  /^(?=.{0,512}$)(?!.*\.\.)([a-z][a-z0-9]*=[A-Za-z0-9_.:/+-]+(,[a-z][a-z0-9]*=[A-Za-z0-9_.:/+-]+)*)?$/;

/**
 * Creates a container, converging when a retry finds the work already done, and adopting it
 * only when it is provably complete. On disk Proxmox's "safe config" (written before setup,
 * pve-container src/PVE/API2/LXC.pm create_vm) and its final one cannot be told apart, so
 * completion is Lockstep's own mark: `pct create` runs with the ownership MARKER in the
 * description only, and the ownership TAG is added with `pct set` once `pct create` exited 0
 * (no task worker left). Tag = finished (adopted); marker only = this request's unfinished
 * create (removed with its disks and redone, see `claimTarget`), unless the intent says
 * `pct create` had exited 0 (then only the tag is added). The intent recorded before
 * `pct create` proves a bare `lock: create` placeholder ours; it is forgotten once the
 * outcome is definite.
 */
export async function createContainer(
  ctx: NodeContext,
  requested: CreateSpec,
  ownershipTag: string,
  op: OperationScope,
): Promise<CreateOutcome> {
  const spec = withDefaults(requested);
  validate(spec, ownershipTag);
  requirePolicy(ctx, spec.vmid, createAsk(spec), op);
  if (await claimTarget(ctx, spec.vmid, ownershipTag, op))
    return { container: await getContainer(ctx, spec.vmid), alreadyExisted: true };
  const intent = {
    op: "create",
    vmid: spec.vmid,
    ownershipTag,
    requestId: op.requestId,
    startedMs: ctx.clock.now(),
  } as const;
  await ctx.intents.record(intent);
  try {
    await runMutation(ctx, spec.vmid, createArgs(spec, ownershipTag), { op, timeoutMs: ctx.timeouts.createMs });
  } catch (err) {
    if (outcomeUnknown(err))
      op.logger.error("create outcome unknown or still running; nothing is rolled back", {
        vmid: spec.vmid,
        code: err instanceof LockstepError ? err.code : "INTERNAL",
      });
    else await forgetUnlessLeftBehind(ctx, spec.vmid, op);
    throw err;
  }
  // pct exited 0: complete. Said durably before tagging, and kept whatever the tagging meets
  // (a nightly backup's lock, a crash), so that the retry adds the tag rather than taking the
  // finished create for an unfinished one and making it again (ownership.ts claimTarget).
  await ctx.intents.record({ ...intent, created: true });
  if (ownershipTag) await addOwnershipTag(ctx, spec.vmid, ownershipTag, op);
  await ctx.intents.clear(spec.vmid);
  return { container: await getContainer(ctx, spec.vmid), alreadyExisted: false };
}

/**
 * After a `pct create` or `pct clone` that definitely failed: its intent is forgotten only
 * when Proxmox's own cleanup removed what it had written (create_vm's error path destroys
 * the config; an /etc/pve that lost quorum meanwhile refuses that unlink). A config left
 * behind keeps the intent, which proves the leftover this agent's own (ownership.ts
 * provenOwnLeftover): a retry or a delete removes it instead of calling it foreign.
 */
export async function forgetUnlessLeftBehind(ctx: NodeContext, vmid: number, op: OperationScope): Promise<void> {
  const leftBehind = await readConfigFile(ctx, vmid).then(
    (config) => config !== null,
    () => true,
  );
  if (!leftBehind) return ctx.intents.clear(vmid);
  op.logger.warn(
    "the failed create left its config behind; its intent is kept so that the leftover is known as this agent's own",
    { vmid },
  );
}

/**
 * Whether a failed create may have left something behind that is still its own: `pct` was
 * stopped (timeout, agent stop) or its worker lives on, or the failure is not a `pct` answer.
 * A definite answer of `pct` (it exited non-zero: Proxmox's own error path cleaned up) is not.
 */
export function outcomeUnknown(err: unknown): boolean {
  return (
    !(err instanceof LockstepError) ||
    ["HYPERVISOR_UNRESPONSIVE", "OPERATION_RUNNING", "UNAVAILABLE", "INTERRUPTED", "INTERNAL"].includes(err.code)
  );
}

/** Proxmox's defaults for what the request leaves at zero (proto3 cannot tell unset from 0). */
function withDefaults(spec: CreateSpec): CreateSpec {
  return {
    ...spec,
    cores: spec.cores || 1,
    memoryMb: spec.memoryMb || 512,
    storage: spec.storage || DEFAULT_ROOTFS_STORAGE,
    diskGb: spec.diskGb || 8,
  };
}

function createArgs(spec: CreateSpec, ownershipTag: string): string[] {
  // The ownership tag is NOT given here: it marks a finished create, and is set afterwards.
  const tags = [...new Set(spec.tags.filter((tag) => tag !== ownershipTag))];
  const description = createDescription(spec, ownershipTag);
  const args = ["create", String(spec.vmid), spec.template, "--hostname", spec.hostname];
  args.push("--cores", String(spec.cores), "--memory", String(spec.memoryMb), "--swap", String(spec.swapMb));
  args.push("--storage", spec.storage, "--rootfs", `${spec.storage}:${spec.diskGb}`);
  args.push("--unprivileged", spec.unprivileged ? "1" : "0");
  if (spec.net0) args.push("--net0", spec.net0);
  if (spec.features) args.push("--features", spec.features);
  if (tags.length > 0) args.push("--tags", tags.join(";"));
  if (description) args.push("--description", description);
  if (spec.start) args.push("--start", "1");
  return args;
}

/** The ownership marker line, then the request's description. */
function createDescription(spec: CreateSpec, ownershipTag: string): string {
  return [
    ...(ownershipTag ? [ownershipMarker(ownershipTag)] : []),
    ...(spec.description ? [spec.description] : []),
  ].join("\n");
}

function validate(spec: CreateSpec, ownershipTag: string): void {
  requireVmid(spec.vmid);
  requireValid("hostname", spec.hostname, hostnameProblem);
  requirePattern(
    "template",
    spec.template,
    TEMPLATE_VOLUME,
    "a template volume such as 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst'",
  );
  requirePattern("storage", spec.storage, STORAGE_ID, "a storage ID");
  requireRange("cores", spec.cores, 1, 8192);
  requireRange("memory_mb", spec.memoryMb, 16, 4_194_304);
  requireRange("swap_mb", spec.swapMb, 0, 4_194_304);
  requireRange("disk_gb", spec.diskGb, 1, 131_072);
  requirePattern("net0", spec.net0, PROPERTY_STRING, "a Proxmox property string (key=value,...)");
  requirePattern("features", spec.features, PROPERTY_STRING, "a Proxmox property string (key=value,...)");
  for (const tag of [...spec.tags, ...(ownershipTag ? [ownershipTag] : [])])
    requirePattern("tags", tag, PROXMOX_TAG, "Proxmox tags: lowercase letters, digits, '_', '-', '+', '.'");
  requireDescription(spec.description);
  requireDescription(createDescription(spec, ownershipTag));
}

function requireRange(field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new InvalidArgumentError(field, `must be an integer from ${min} to ${max}`);
}
