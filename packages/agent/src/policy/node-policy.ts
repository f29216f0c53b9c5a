import { checkPolicy, enabledFeatureFlags, type PolicySubject } from "@lockstep/shared";
import { InvalidArgumentError, PermissionDeniedError } from "../errors.js";
import type { ConfigSection } from "../node/container-config.js";
import type { NodeContext } from "../node/node-context.js";
import type { OperationScope } from "../pct/operation-scope.js";

/**
 * The node's own policy, applied to each RPC that makes or changes what a container may do.
 * The API checks the same policy before it writes anything; the agent checks it again from
 * its own configuration, so that a compromised API or a stolen client certificate gets no
 * more than the node's owner allows. Its defaults are Proxmox's root@pam-only line
 * (pve-container src/PVE/LXC.pm check_ct_modify_config_perm; see shared policy/policy.ts).
 */

/** What one request asks, in the policy's terms, and the RPC field each of its parts comes from. */
export interface PolicyAsk {
  readonly subject: PolicySubject;
  readonly fields: Readonly<Partial<Record<keyof PolicySubject, string>>>;
}

/** The parts of a CreateContainer request the policy speaks about (create-container.ts CreateSpec). */
interface CreateAsked {
  readonly unprivileged: boolean;
  readonly features: string;
  readonly cores: number;
  readonly memoryMb: number;
  readonly swapMb: number;
  readonly diskGb: number;
  readonly template: string;
  readonly storage: string;
}

/** A CreateContainer request, with Proxmox's defaults already filled in. */
export function createAsk(spec: CreateAsked): PolicyAsk {
  return {
    subject: {
      privileged: !spec.unprivileged,
      featureFlags: enabledFeatureFlags(spec.features),
      cores: spec.cores,
      memoryMb: spec.memoryMb,
      swapMb: spec.swapMb,
      diskGb: spec.diskGb,
      template: spec.template,
      storage: spec.storage,
    },
    fields: {
      privileged: "unprivileged",
      featureFlags: "features",
      cores: "cores",
      memoryMb: "memoryMb",
      swapMb: "swapMb",
      diskGb: "diskGb",
      template: "template",
      storage: "storage",
    },
  };
}

/** A CloneContainer request itself: which guest it copies, and to which storage if it names one. */
export function cloneAsk(spec: { readonly sourceVmid: number; readonly storage: string }): PolicyAsk {
  return {
    subject: { cloneSource: spec.sourceVmid, ...(spec.storage ? { storage: spec.storage } : {}) },
    fields: { cloneSource: "sourceVmid", storage: "storage" },
  };
}

/**
 * The configuration a clone copies (the snapshot's section when one is named): pve-container
 * src/PVE/API2/LXC.pm clone_vm copies every key of it but disks and network, so a clone of a
 * privileged or device-passing source is one too.
 */
export function cloneSourceAsk(source: ConfigSection): PolicyAsk {
  const values = source.values;
  const keys = Object.keys(values);
  const profile = values["lxc.apparmor.profile"];
  const subject: PolicySubject = {
    privileged: values.unprivileged !== "1",
    featureFlags: enabledFeatureFlags(values.features ?? ""),
    hostMounts: keys.filter((key) => MOUNT_POINT.test(key) && isHostMount(values[key]!)),
    devices: keys.filter((key) => DEVICE.test(key)),
    ...(profile !== undefined ? { apparmorProfile: profile } : {}),
    // pve-container src/PVE/LXC/Config.pm: memory and swap default to 512; without `cores` a
    // container may use every core of the node, which no number can say (left unchecked).
    ...numberIn(values, "cores", "cores"),
    ...numberIn(values, "memory", "memoryMb", 512),
    ...numberIn(values, "swap", "swapMb", 512),
  };
  const fields = Object.fromEntries(Object.keys(subject).map((key) => [key, "sourceVmid"]));
  return { subject, fields };
}

/** The parts of an UpdateConfig request the policy speaks about (update-config.ts ConfigChange). */
interface ChangeAsked {
  readonly set: Readonly<Record<string, string>>;
  readonly remove: readonly string[];
  readonly lxc: Readonly<Record<string, string>>;
}

/**
 * An UpdateConfig request: the keys it sets and the raw keys it writes. A volume mount point
 * (`local-lvm:vm-100-disk-1,mp=/data`) is a storage volume and allowed as Proxmox allows it to
 * VM.Config.Disk; one from a host path or device is `host_mount`.
 */
export function updateAsk(change: ChangeAsked): PolicyAsk {
  const set = change.set;
  const keys = Object.keys(set);
  const hostMounts = keys.filter((key) => MOUNT_POINT.test(key) && isHostMount(set[key]!));
  const devices = keys.filter((key) => DEVICE.test(key));
  const subject: PolicySubject = {
    ...(set.unprivileged !== undefined ? { privileged: !TRUE.has(set.unprivileged.toLowerCase()) } : {}),
    // Without the key Proxmox's default is a privileged container (LXC/Config.pm: unprivileged default 0).
    ...(change.remove.includes("unprivileged") ? { privileged: true } : {}),
    ...(set.features !== undefined ? { featureFlags: enabledFeatureFlags(set.features) } : {}),
    ...(hostMounts.length > 0 ? { hostMounts } : {}),
    ...(devices.length > 0 ? { devices } : {}),
    ...(change.lxc["lxc.apparmor.profile"] !== undefined
      ? { apparmorProfile: change.lxc["lxc.apparmor.profile"] }
      : {}),
    ...requiredNumber(set, "cores", "cores"),
    ...requiredNumber(set, "memory", "memoryMb"),
    ...requiredNumber(set, "swap", "swapMb"),
  };
  return {
    subject,
    fields: {
      privileged: set.unprivileged !== undefined ? "set.unprivileged" : "delete.unprivileged",
      featureFlags: "set.features",
      hostMounts: `set.${hostMounts[0]}`,
      devices: `set.${devices[0]}`,
      apparmorProfile: "lxc.lxc.apparmor.profile",
      cores: "set.cores",
      memoryMb: "set.memory",
      swapMb: "set.swap",
    },
  };
}

/**
 * Throws PERMISSION_DENIED naming the first rule the request breaks (and all of them in
 * `rules`), after logging the refusal, counting it and publishing it as a `policy-refused`
 * event, which the API records as an incident. Called before anything runs.
 */
export function requirePolicy(
  ctx: Pick<NodeContext, "policy" | "events" | "clock" | "node">,
  vmid: number,
  ask: PolicyAsk,
  op: OperationScope,
): void {
  const violations = checkPolicy(ask.subject, ctx.policy);
  const first = violations[0];
  if (!first) return;
  const field = (first.subject && ask.fields[first.subject]) ?? first.subject ?? "";
  const rules = violations.map((v) => v.rule);
  const refusal = new PermissionDeniedError(first.rule, field, vmid, first.message, rules);
  const client = op.client ?? "unknown";
  op.logger.warn("the node policy refused the request", {
    rule: first.rule,
    rules,
    field,
    vmid,
    requestId: op.requestId,
    client,
  });
  ctx.events.publish({
    atMs: ctx.clock.now(),
    node: ctx.node,
    vmid,
    kind: "policy-refused",
    detail: `${refusal.message}; client ${client}${rules.length > 1 ? `; rules ${rules.join(",")}` : ""}`,
    requestId: op.requestId,
    rule: first.rule,
  });
  throw refusal;
}

const MOUNT_POINT = /^mp\d+$/;
const DEVICE = /^dev\d+$/;
// pve-common src/PVE/JSONSchema.pm parse_boolean's true words.
const TRUE = new Set(["1", "on", "yes", "true"]);

/**
 * Whether a mount point's volume is a host path or device rather than a storage volume:
 * pve-container src/PVE/LXC/Config.pm classify_mountpoint (`^/` is `bind`, `^/dev/` `device`).
 * The volume is the `volume=` item or the item without `=` (pve-common JSONSchema.pm
 * parse_property_string: an item without `key=` is the format's default key).
 */
export function isHostMount(value: string): boolean {
  const items = value.split(",");
  const named = items.find((item) => item.startsWith("volume="));
  const volume = named !== undefined ? named.slice("volume=".length) : items.find((item) => !/^[^=]+=.+$/.test(item));
  return (volume ?? "").trim().startsWith("/");
}

/** A number of a config Proxmox wrote, or its default when the key is absent. */
function numberIn(
  values: Readonly<Record<string, string>>,
  key: string,
  as: "cores" | "memoryMb" | "swapMb",
  proxmoxDefault?: number,
): Partial<PolicySubject> {
  const value = values[key];
  if (value === undefined) return proxmoxDefault !== undefined ? { [as]: proxmoxDefault } : {};
  return /^\d+$/.test(value) ? { [as]: Number(value) } : {};
}

/** A resource set through UpdateConfig: an integer, as Proxmox takes it, so that a ceiling can be checked. */
function requiredNumber(
  set: Readonly<Record<string, string>>,
  key: string,
  as: "cores" | "memoryMb" | "swapMb",
): Partial<PolicySubject> {
  const value = set[key];
  if (value === undefined) return {};
  if (!/^\d{1,10}$/.test(value)) throw new InvalidArgumentError(`set.${key}`, "must be a whole number");
  return { [as]: Number(value) };
}
