import { isDeepStrictEqual } from "node:util";
import { DEFAULT_POLICY, type Policy } from "@lockstep/shared";
import { pass, warn, type DoctorCheck } from "../check.js";

/**
 * The node policy the agent enforces, in words, and a warning when it lets callers past
 * Proxmox's root@pam-only line where root on the node is one step away: privileged
 * containers, an unconfined AppArmor profile, host mounts, devices (pve-container
 * src/PVE/LXC.pm check_ct_modify_config_perm).
 */
export const nodePolicyCheck: DoctorCheck = {
  id: "node-policy",
  title: "node policy",
  run(ctx) {
    const { policy } = ctx.config;
    const source = isDeepStrictEqual(policy, DEFAULT_POLICY) ? "the default policy" : "the policy of policyFile";
    const widened = widenings(policy);
    const risky = riskyWidenings(policy);
    if (widened.length === 0) return Promise.resolve(pass(`${source}: Proxmox's root@pam-only line${limits(policy)}`));
    const seen = `${source} allows beyond Proxmox's root@pam-only line: ${widened.join("; ")}${limits(policy)}`;
    return Promise.resolve(
      risky.length > 0 ? warn(`${seen}; root on the node is one step from ${risky.join(", ")}`) : pass(seen),
    );
  },
};

/** What the policy allows that the default refuses. */
function widenings(policy: Policy): string[] {
  const extraFlags = policy.feature_flags.filter((f) => !DEFAULT_POLICY.feature_flags.includes(f));
  return [
    policy.privileged && "privileged containers",
    policy.apparmor_profiles.length > 0 && `AppArmor profiles ${policy.apparmor_profiles.join(", ")}`,
    extraFlags.length > 0 && `feature flags ${extraFlags.join(", ")}`,
    policy.host_mounts && "mount points from host paths",
    policy.devices && "device passthrough",
    policy.clone_sources.length > 0 && `clones of CT ${policy.clone_sources.join(", ")}`,
  ].filter((w): w is string => typeof w === "string");
}

/** The widenings that give a container's root the node's. */
function riskyWidenings(policy: Policy): string[] {
  return [
    policy.privileged && "a privileged container",
    policy.apparmor_profiles.includes("unconfined") && "an unconfined container",
    policy.host_mounts && "a host mount",
    policy.devices && "a passed-through device",
  ].filter((w): w is string => typeof w === "string");
}

/** The ceilings and lists that narrow it, if any. */
function limits(policy: Policy): string {
  const parts = [
    ...Object.entries(policy.max).map(([key, most]) => `${key} at most ${most}`),
    ...(policy.templates.join() !== "*" ? [`templates ${policy.templates.join(", ")}`] : []),
    ...(policy.storages.join() !== "*" ? [`storages ${policy.storages.join(", ")}`] : []),
  ];
  return parts.length > 0 ? ` (${parts.join("; ")})` : "";
}
