import type { CustomFeature, ResolvedSpec } from "./container-spec.js";

/** A feature Lockstep ships, and what else it needs from the spec. */
export interface ShippedFeature extends CustomFeature {
  /** Why the spec cannot carry this feature, with the pointer to fix; null when it can. */
  readonly unmetNeed?: (spec: ResolvedSpec) => { pointer: string; reason: string } | null;
}

const installs = (pkg: string, unit?: string): string[] => [
  "sh",
  "-c",
  `apt-get update && apt-get install -y ${pkg}${unit ? ` && systemctl enable --now ${unit}` : ""}`,
];
const presentAndActive = (program: string, unit: string): string[] => [
  "sh",
  "-c",
  `command -v ${program} >/dev/null && systemctl is-active --quiet ${unit}`,
];

/**
 * Examples of the guard-and-action pattern that users follow for their own features. The
 * guard is the truth: an action that leaves its guard failing is a failed step.
 */
export const SHIPPED_FEATURES: ReadonlyMap<string, ShippedFeature> = new Map<string, ShippedFeature>([
  [
    "docker",
    {
      name: "docker",
      guard: presentAndActive("docker", "docker.service"),
      action: installs("docker.io", "docker.service"),
      timeout_ms: 900_000,
      // Docker inside LXC needs nested namespaces; without them dockerd cannot start.
      unmetNeed: (spec) =>
        spec.security.nesting
          ? null
          : { pointer: "/security/nesting", reason: "must be true for the 'docker' feature" },
    },
  ],
  [
    "nginx",
    {
      name: "nginx",
      guard: presentAndActive("nginx", "nginx.service"),
      action: installs("nginx", "nginx.service"),
      timeout_ms: 600_000,
    },
  ],
  // The driver lives on the host and is passed through; inside, only the user-space tools.
  ["nvidia", { name: "nvidia", guard: ["nvidia-smi"], action: installs("nvidia-utils-550"), timeout_ms: 900_000 }],
]);
