import { hostnameProblem } from "@lockstep/shared";
import { HypervisorUnresponsiveError, InvalidArgumentError } from "../errors.js";
import type { NodeContext } from "../node/node-context.js";
import { requirePattern, requireValid, requireVmid } from "../node/require-valid.js";
import { runMutation } from "../pct/pct-mutation.js";
import { getContainer, type ContainerView } from "./container-reader.js";
import { PROXMOX_TAG, requireDescription, STORAGE_ID } from "./field-rules.js";
import { claimTarget } from "./ownership.js";

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

const TEMPLATE = /^[a-zA-Z][a-zA-Z0-9_.-]*:vztmpl\/[a-zA-Z0-9_.+-]+\.tar\.(gz|xz|zst)$/;
// Property strings: key=value pairs; no whitespace or shell/quote characters to smuggle anything.
// `key=value,...` as Proxmox writes net0 and features; no value may climb with '..'.
const PROPERTY_STRING = /^(?=.{0,512}$)(?!.*\.\.)([a-z][a-z0-9]*=[A-Za-z0-9_.:/+-]+(,[a-z][a-z0-9]*=[A-Za-z0-9_.:/+-]+)*)?$/;

/**
 * Creates a container, converging when a retry finds the work already done. An existing
 * container counts as this request's own only when it carries `ownershipTag` (see
 * `claimTarget`); anyone else's is never adopted, and a killed create's placeholder is
 * destroyed and the create redone.
 */
export async function createContainer(ctx: NodeContext, requested: CreateSpec, ownershipTag: string, requestId: string): Promise<CreateOutcome> {
  const spec = withDefaults(requested);
  validate(spec, ownershipTag);
  if (await claimTarget(ctx, spec.vmid, ownershipTag, requestId)) return { container: await getContainer(ctx, spec.vmid), alreadyExisted: true };
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
  requirePattern("storage", spec.storage, STORAGE_ID, "a storage ID");
  requireRange("cores", spec.cores, 1, 8192);
  requireRange("memory_mb", spec.memoryMb, 16, 4_194_304);
  requireRange("swap_mb", spec.swapMb, 0, 4_194_304);
  requireRange("disk_gb", spec.diskGb, 1, 131_072);
  requirePattern("net0", spec.net0, PROPERTY_STRING, "a Proxmox property string (key=value,...)");
  requirePattern("features", spec.features, PROPERTY_STRING, "a Proxmox property string (key=value,...)");
  for (const tag of [...spec.tags, ...(ownershipTag ? [ownershipTag] : [])]) requirePattern("tags", tag, PROXMOX_TAG, "Proxmox tags: lowercase letters, digits, '_', '-', '+', '.'");
  requireDescription(spec.description);
}

function requireRange(field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new InvalidArgumentError(field, `must be an integer from ${min} to ${max}`);
}
