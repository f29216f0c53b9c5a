import { matchesAny, type Policy } from "./policy.js";

/**
 * What a request would make a container, in the terms a policy speaks: the API derives it from
 * a spec, the agent from the RPC it is asked (and a clone's source configuration). A field left
 * out is not asked for.
 */
export interface PolicySubject {
  readonly privileged?: boolean;
  /** A raw `lxc.apparmor.profile`; absent: Proxmox's generated profile. */
  readonly apparmorProfile?: string;
  /** Feature flags turned on. */
  readonly featureFlags?: readonly string[];
  /** Config keys of mount points from a host path or device (bind mounts). */
  readonly hostMounts?: readonly string[];
  /** `devN` config keys. */
  readonly devices?: readonly string[];
  readonly cores?: number;
  readonly memoryMb?: number;
  readonly swapMb?: number;
  readonly diskGb?: number;
  readonly template?: string;
  readonly cloneSource?: number;
  readonly node?: string;
  readonly storage?: string;
}

/** A rule's stable name: the API's 403 and the agent's PERMISSION_DENIED name it. */
export type PolicyRule =
  | "privileged"
  | "apparmor_profile"
  | "feature_flag"
  | "host_mount"
  | "device"
  | "max_cores"
  | "max_memory_mb"
  | "max_swap_mb"
  | "max_disk_gb"
  | "template"
  | "clone_source"
  | "node"
  | "storage"
  | "max_containers";

export interface PolicyViolation {
  readonly rule: PolicyRule;
  /** The subject's field that broke it (each adapter names it in its own terms); null: the quota. */
  readonly subject: keyof PolicySubject | null;
  readonly message: string;
}

type Check = (subject: PolicySubject, policy: Policy) => PolicyViolation | null;

const violation = (rule: PolicyRule, subject: keyof PolicySubject, message: string): PolicyViolation => ({
  rule,
  subject,
  message,
});

const ceiling =
  (rule: PolicyRule, subject: "cores" | "memoryMb" | "swapMb" | "diskGb", key: keyof Policy["max"]): Check =>
  (s, p) => {
    const asked = s[subject];
    const most = p.max[key];
    return asked !== undefined && most !== undefined && asked > most
      ? violation(rule, subject, `${asked} is over the policy's ceiling of ${most}`)
      : null;
  };

const CHECKS: readonly Check[] = [
  (s, p) =>
    s.privileged && !p.privileged
      ? violation("privileged", "privileged", "privileged containers are not allowed; root in one is root on the node")
      : null,
  (s, p) =>
    s.apparmorProfile !== undefined && !p.apparmor_profiles.includes(s.apparmorProfile)
      ? violation("apparmor_profile", "apparmorProfile", `the AppArmor profile '${s.apparmorProfile}' is not allowed`)
      : null,
  (s, p) => {
    const refused = (s.featureFlags ?? []).filter((f) => !(p.feature_flags as readonly string[]).includes(f));
    return refused.length > 0
      ? violation("feature_flag", "featureFlags", `feature flag(s) ${refused.join(", ")} not allowed`)
      : null;
  },
  (s, p) =>
    (s.hostMounts ?? []).length > 0 && !p.host_mounts
      ? violation(
          "host_mount",
          "hostMounts",
          `mount points from the host (${s.hostMounts!.join(", ")}) are not allowed`,
        )
      : null,
  (s, p) =>
    (s.devices ?? []).length > 0 && !p.devices
      ? violation("device", "devices", `device passthrough (${s.devices!.join(", ")}) is not allowed`)
      : null,
  ceiling("max_cores", "cores", "cores"),
  ceiling("max_memory_mb", "memoryMb", "memory_mb"),
  ceiling("max_swap_mb", "swapMb", "swap_mb"),
  ceiling("max_disk_gb", "diskGb", "disk_gb"),
  (s, p) =>
    s.template !== undefined && !matchesAny(p.templates, s.template)
      ? violation("template", "template", `the template '${s.template}' is not allowed`)
      : null,
  (s, p) =>
    s.cloneSource !== undefined && !p.clone_sources.includes(s.cloneSource)
      ? violation("clone_source", "cloneSource", `CT ${s.cloneSource} is not an allowed clone source`)
      : null,
  (s, p) =>
    s.node !== undefined && !matchesAny(p.nodes, s.node)
      ? violation("node", "node", `the node '${s.node}' is not allowed`)
      : null,
  (s, p) =>
    s.storage !== undefined && !matchesAny(p.storages, s.storage)
      ? violation("storage", "storage", `the storage '${s.storage}' is not allowed`)
      : null,
];

/** Every rule the subject breaks, in the policy's order; none: allowed. */
export function checkPolicy(subject: PolicySubject, policy: Policy): PolicyViolation[] {
  return CHECKS.map((check) => check(subject, policy)).filter((v): v is PolicyViolation => v !== null);
}

/** The token's container quota, for one more container beside the `held` ones. */
export function quotaViolation(held: number, policy: Policy): PolicyViolation | null {
  const most = policy.max_containers;
  return most !== undefined && held + 1 > most
    ? { rule: "max_containers", subject: null, message: `the token holds ${held} of its ${most} containers` }
    : null;
}

/** Flags turned on in a Proxmox `features` property string (`nesting=1,mount=nfs;cifs`). */
export function enabledFeatureFlags(features: string): string[] {
  return features
    .split(",")
    .filter(Boolean)
    .map((pair) => pair.split("=", 2) as [string, string | undefined])
    .filter(([, value]) => value !== undefined && value !== "0" && value !== "")
    .map(([flag]) => flag);
}
