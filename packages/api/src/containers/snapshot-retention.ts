import type { ResolvedSpec } from "@lockstep/shared";

/** The retention a container's snapshots get, and where it comes from. */
export interface EffectiveRetention {
  readonly keep_last: number;
  readonly source: "container" | "global";
}

/** A container's own `snapshot_retention` overrides the API's global setting. */
export function effectiveRetention(
  spec: Pick<ResolvedSpec, "snapshot_retention">,
  globalKeepLast: number,
): EffectiveRetention {
  const own = spec.snapshot_retention?.keep_last;
  return own === undefined ? { keep_last: globalKeepLast, source: "global" } : { keep_last: own, source: "container" };
}
