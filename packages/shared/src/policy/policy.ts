import { Type, type Static } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { ConfigError } from "../config/config-schema.js";

/**
 * What a caller may ask of a hypervisor. Its defaults are Proxmox's own line between root@pam
 * and everyone else (pve-container src/PVE/LXC.pm check_ct_modify_config_perm, src/PVE/API2/
 * LXC.pm create_vm): a privileged container needs Sys.Modify on `/`; feature flags other than
 * nesting, mount points that are not storage volumes (host bind mounts, devices) and device
 * passthrough (`devN`) are root@pam's alone; raw `lxc.*` keys (an AppArmor profile) cannot be
 * set through Proxmox's API at all. What a hosting container needs stays allowed: any template,
 * node and storage, nesting, no resource ceiling beyond the spec's own bounds.
 */

/** Proxmox's container feature flags (pve-container src/PVE/LXC/Config.pm $features_desc). */
export const FEATURE_FLAGS = ["nesting", "keyctl", "fuse", "mknod", "mount", "force_rw_sys"] as const;
export type FeatureFlag = (typeof FEATURE_FLAGS)[number];

// `*` matches any run of characters; nothing else is special.
const Glob = Type.String({ minLength: 1, maxLength: 255, pattern: "^[A-Za-z0-9_.:/*+@-]+$" });
const Ceiling = (description: string) => Type.Optional(Type.Integer({ minimum: 0, description }));

export const Policy = Type.Object(
  {
    privileged: Type.Boolean({ default: false, description: "containers with unprivileged: false" }),
    apparmor_profiles: Type.Array(Type.String({ pattern: "^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127}$" }), {
      default: [],
      maxItems: 64,
      description: "raw lxc.apparmor.profile values allowed ('unconfined' included only if named)",
    }),
    feature_flags: Type.Array(Type.Union(FEATURE_FLAGS.map((f) => Type.Literal(f))), {
      default: ["nesting"],
      uniqueItems: true,
      description: "Proxmox feature flags a container may carry",
    }),
    host_mounts: Type.Boolean({ default: false, description: "mount points from a host path or device" }),
    devices: Type.Boolean({ default: false, description: "device passthrough (devN)" }),
    max: Type.Object(
      {
        cores: Ceiling("most cores per container"),
        memory_mb: Ceiling("most memory per container"),
        swap_mb: Ceiling("most swap per container"),
        disk_gb: Ceiling("largest root disk"),
      },
      { additionalProperties: false, default: {} },
    ),
    templates: Type.Array(Glob, { default: ["*"], maxItems: 256, description: "template volumes allowed" }),
    clone_sources: Type.Array(Type.Integer({ minimum: 100, maximum: 999_999_999 }), {
      default: [],
      maxItems: 1024,
      description: "VMIDs that may be cloned (a clone copies another guest's disk)",
    }),
    nodes: Type.Array(Glob, { default: ["*"], maxItems: 256 }),
    storages: Type.Array(Glob, { default: ["*"], maxItems: 256 }),
    max_containers: Type.Optional(
      Type.Integer({ minimum: 0, description: "live containers a token may hold; absent: no limit" }),
    ),
  },
  { additionalProperties: false, title: "Lockstep policy" },
);

export type Policy = Static<typeof Policy>;

/** The policy that applies when none is configured: refuses everything dangerous. */
export const DEFAULT_POLICY: Policy = parsePolicy({}, "the default policy");

/**
 * A policy as written (a file, a token's), its defaults applied; a bad one is a ConfigError
 * naming `source` and the first wrong key.
 */
export function parsePolicy(raw: unknown, source: string): Policy {
  const value = Value.Default(Policy, Value.Clone(raw));
  const error = Value.Errors(Policy, value).First();
  if (error) throw new ConfigError(`${source}: ${error.path || "/"} ${error.message}`);
  return value as Policy;
}

/** True when `value` is matched by one of the globs. */
export function matchesAny(globs: readonly string[], value: string): boolean {
  return globs.some((glob) => globRegExp(glob).test(value));
}

function globRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.split("*").map(escapeRegExp).join(".*")}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\/]/g, "\\$&");
}
