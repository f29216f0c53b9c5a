/**
 * How a container on a node names the record it belongs to: the tag `lockstep-<record id>`,
 * or (for a clone, until its tag is set) the description line `lockstep-owner=<that tag>`.
 * The node alone tells Lockstep's containers from anyone else's.
 */
const TAG = /^lockstep-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** The ownership tag a container carries on its node: its record's ID. */
export function ownershipTag(containerId: string): string {
  return `lockstep-${containerId}`;
}

/**
 * The record ID a container's marker names, or null for a container Lockstep did not make.
 * The description marker comes first: only a clone writes it, for its own record, while its
 * tags may still hold the ones it copied from its source.
 */
export function markedRecord(tags: readonly string[], description: string): string | null {
  for (const line of description.split("\n")) {
    const tag = TAG.exec(/^lockstep-owner=(.*)$/.exec(line.trim())?.[1] ?? "");
    if (tag) return tag[1]!;
  }
  for (const tag of tags) {
    const m = TAG.exec(tag);
    if (m) return m[1]!;
  }
  return null;
}
