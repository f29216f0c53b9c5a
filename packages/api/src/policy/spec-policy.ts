import { checkPolicy, type Policy, type PolicySubject, type ResolvedSpec } from "@lockstep/shared";
import type { RuleBreach } from "../errors.js";

/** What a spec asks of its hypervisor, in the terms of a policy; `node` when the request names it. */
function specSubject(spec: ResolvedSpec, node: string | null): PolicySubject {
  const { security, resources, source } = spec;
  return {
    privileged: !security.unprivileged,
    ...(security.apparmor_profile === undefined ? {} : { apparmorProfile: security.apparmor_profile }),
    featureFlags: [security.nesting && "nesting", security.keyctl && "keyctl"].filter((f): f is string => !!f),
    cores: resources.cores,
    memoryMb: resources.memory_mb,
    swapMb: resources.swap_mb,
    diskGb: resources.disk_gb,
    storage: resources.storage,
    ...("template" in source ? { template: source.template } : { cloneSource: source.clone.vmid }),
    ...(node === null ? {} : { node }),
  };
}

const POINTERS: Record<Exclude<keyof PolicySubject, "featureFlags">, string> = {
  privileged: "/spec/security/unprivileged",
  apparmorProfile: "/spec/security/apparmor_profile",
  hostMounts: "/spec",
  devices: "/spec",
  cores: "/spec/resources/cores",
  memoryMb: "/spec/resources/memory_mb",
  swapMb: "/spec/resources/swap_mb",
  diskGb: "/spec/resources/disk_gb",
  storage: "/spec/resources/storage",
  template: "/spec/source/template",
  cloneSource: "/spec/source/clone/vmid",
  node: "/node",
};

/**
 * Every rule of `policy` that `spec` breaks (and `node`, for a create, which names it), at its
 * field in the request's body.
 */
export function specBreaches(spec: ResolvedSpec, node: string | null, policy: Policy): RuleBreach[] {
  return checkPolicy(specSubject(spec, node), policy).map((v) => ({
    rule: v.rule,
    pointer: v.subject === "featureFlags" ? flagPointer(spec, policy) : v.subject ? POINTERS[v.subject] : "",
    reason: v.message,
  }));
}

/** The spec's first feature flag the policy refuses: a spec spells nesting and keyctl as fields of their own. */
function flagPointer(spec: ResolvedSpec, policy: Policy): string {
  const allowed = policy.feature_flags as readonly string[];
  const refused = (["nesting", "keyctl"] as const).find((f) => spec.security[f] && !allowed.includes(f));
  return `/spec/security/${refused ?? "nesting"}`;
}
