/** What the reconciler may repair on its own (configuration, validated at start). */
export interface DriftPolicy {
  /** A record's container gone from its node: mark the record failed, or create it again. */
  readonly missing: "mark-failed" | "recreate";
  /** A container with Lockstep's marker and no live record: only report it, or destroy it after the grace period. */
  readonly orphans: "report" | "destroy";
  readonly orphanGraceMs: number;
}
