import { hostnameProblem } from "@lockstep/shared";
import { AlreadyExistsError, HypervisorUnresponsiveError, InvalidArgumentError } from "../errors.js";
import type { NodeContext } from "../node/node-context.js";
import { requirePattern, requireValid, requireVmid } from "../node/require-valid.js";
import { runMutation } from "../pct/pct-mutation.js";
import { getContainer, readConfigFile, type ContainerView } from "./container-reader.js";

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
  /** The container was already there, carrying this request's ownership tag. */
  readonly alreadyExisted: boolean;
}

const TEMPLATE = /^[a-zA-Z][a-zA-Z0-9_.-]*:vztmpl\/[a-zA-Z0-9_.+-]+\.tar\.(gz|xz|zst)$/;
const STORAGE = /^[a-zA-Z][a-zA-Z0-9_.-]{0,63}$/;
const TAG = /^[a-z0-9_][a-z0-9_+.-]{0,63}$/;
// Property strings: key=value pairs; no whitespace or shell/quote characters to smuggle anything.
const PROPERTY_STRING = /^[a-zA-Z0-9_.:/=,-]{0,512}$/;

/**
 * Creates a container, converging when a retry finds the work already done. An existing
 * container counts as this request's own only when it carries `ownershipTag`; anyone else's
 * is never adopted. A bare `lock: create` placeholder with nobody holding its lock is what a
 * killed create leaves behind: it holds no disks, so it is destroyed and the create redone.
 */
export async function createContainer(ctx: NodeContext, requested: CreateSpec, ownershipTag: string, requestId: string): Promise<CreateOutcome> {
  const spec = withDefaults(requested);
  validate(spec, ownershipTag);
  // Wait out a create still running (its flock is HELD) before judging what the config
  // holds; a placeholder is only a crashed create's once nobody holds its lock.
  await ctx.gate.ensureFree(spec.vmid, { requestId });
  const existing = await readConfigFile(ctx, spec.vmid);
  if (existing) {
    const values = existing.main.values;
    if (isCrashedCreate(values)) {
      await removeCrashedPlaceholder(ctx, spec.vmid, requestId);
    } else if (ownershipTag && (values.tags ?? "").split(/[;, ]+/).includes(ownershipTag)) {
      return { container: await getContainer(ctx, spec.vmid), alreadyExisted: true };
    } else {
      throw new AlreadyExistsError(`CT ${spec.vmid} already exists on node '${ctx.node}' and is not this request's`, { vmid: String(spec.vmid), node: ctx.node });
    }
  }
  try {
    await runMutation(ctx, spec.vmid, createArgs(spec, ownershipTag), { requestId, timeoutMs: ctx.timeouts.createMs });
  } catch (err) {
    if (err instanceof HypervisorUnresponsiveError) ctx.logger.error("create outcome unknown: pct did not finish; nothing is rolled back", { vmid: spec.vmid, requestId });
    throw err;
  }
  return { container: await getContainer(ctx, spec.vmid), alreadyExisted: false };
}

/** Proxmox's defaults for what the request leaves at zero (proto3 cannot tell unset from 0). */
function withDefaults(spec: CreateSpec): CreateSpec {
  return {
    ...spec,
    cores: spec.cores || 1,
    memoryMb: spec.memoryMb || 512,
    storage: spec.storage || "local-lvm",
    diskGb: spec.diskGb || 8,
  };
}

/** The placeholder a killed create leaves: `lock: create` alone (or nothing, once unlocked). */
function isCrashedCreate(values: Readonly<Record<string, string>>): boolean {
  return Object.keys(values).every((key) => key === "lock") && (values.lock ?? "create") === "create";
}

async function removeCrashedPlaceholder(ctx: NodeContext, vmid: number, requestId: string): Promise<void> {
  ctx.logger.warn("removing the placeholder config a killed create left behind", { vmid, requestId });
  await runMutation(ctx, vmid, ["destroy", String(vmid)], { requestId, timeoutMs: ctx.timeouts.destroyMs });
}

function createArgs(spec: CreateSpec, ownershipTag: string): string[] {
  const tags = [...new Set([...spec.tags, ...(ownershipTag ? [ownershipTag] : [])])];
  const args = ["create", String(spec.vmid), spec.template, "--hostname", spec.hostname];
  args.push("--cores", String(spec.cores), "--memory", String(spec.memoryMb), "--swap", String(spec.swapMb));
  args.push("--storage", spec.storage, "--rootfs", `${spec.storage}:${spec.diskGb}`);
  args.push("--unprivileged", spec.unprivileged ? "1" : "0");
  if (spec.net0) args.push("--net0", spec.net0);
  if (spec.features) args.push("--features", spec.features);
  if (tags.length > 0) args.push("--tags", tags.join(";"));
  if (spec.description) args.push("--description", spec.description);
  if (spec.start) args.push("--start", "1");
  return args;
}

function validate(spec: CreateSpec, ownershipTag: string): void {
  requireVmid(spec.vmid);
  requireValid("hostname", spec.hostname, hostnameProblem);
  requirePattern("template", spec.template, TEMPLATE, "a template volume such as 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst'");
  requirePattern("storage", spec.storage, STORAGE, "a storage ID");
  requireRange("cores", spec.cores, 1, 8192);
  requireRange("memory_mb", spec.memoryMb, 16, 4_194_304);
  requireRange("swap_mb", spec.swapMb, 0, 4_194_304);
  requireRange("disk_gb", spec.diskGb, 1, 131_072);
  requirePattern("net0", spec.net0, PROPERTY_STRING, "a Proxmox property string (key=value,...)");
  requirePattern("features", spec.features, PROPERTY_STRING, "a Proxmox property string (key=value,...)");
  for (const tag of [...spec.tags, ...(ownershipTag ? [ownershipTag] : [])]) requirePattern("tags", tag, TAG, "Proxmox tags: lowercase letters, digits, '_', '-', '+', '.'");
  if (spec.description.length > 8192 || spec.description.includes("\0")) throw new InvalidArgumentError("description", "must be at most 8192 characters without NUL");
}

function requireRange(field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new InvalidArgumentError(field, `must be an integer from ${min} to ${max}`);
}
