import { markedRecord } from "./ownership-marker.js";

export type DriftKind =
  "missing" | "orphan" | "foreign" | "state-mismatch" | "duplicate" | "stale-lock" | "unreachable" | "policy";

/** A record as the reconciler weighs it. */
export interface RecordView {
  readonly id: string;
  readonly node: string;
  readonly vmid: number;
  readonly status: string;
  /** A create, apply or delete of it is queued or running: its node state is in motion. */
  readonly busy: boolean;
}

/** A container as its node reports it. */
export interface NodeContainerView {
  readonly vmid: number;
  readonly running: boolean;
  /** The config's `lock:` property, empty when none. */
  readonly lock: string;
  /** The config's `lock:` when the agent's verdict on it is STALE (nothing can own it); null otherwise. */
  readonly staleLock: string | null;
  readonly tags: readonly string[];
  readonly description: string;
}

export interface Finding {
  readonly kind: DriftKind;
  readonly node: string;
  readonly vmid: number;
  readonly containerId: string | null;
  readonly detail: string;
}

/** A record's container found on another node of its cluster: the record is to follow it. */
export interface Move {
  readonly containerId: string;
  readonly vmid: number;
  readonly from: string;
  readonly to: string;
}

export interface Classification {
  readonly findings: Finding[];
  /** What the node says of each record found there: running or stopped. */
  readonly observed: { readonly containerId: string; readonly state: "running" | "stopped" }[];
  /** Records whose container moved to this node (pct migrate, HA): they follow it. */
  readonly moves: Move[];
}

/** What the judged node's pass knows of its cluster. */
export interface ClusterView {
  /** Whether `other` is a node of this node's cluster: a container may move between them. */
  sameCluster(other: string): boolean;
  /** Where each container of the cluster is, as this node's /etc/pve showed it with the listing. */
  readonly containerNodes: ReadonlyMap<number, string>;
  /** Every node of the cluster is registered and answered in this pass: only then is "missing" provable. */
  readonly complete: boolean;
}

/** A node of its own, listed: what the reconciler knew before clusters. */
const NODE_OF_ITS_OWN: ClusterView = { sameCluster: () => false, containerNodes: new Map(), complete: true };

/**
 * Compares one reachable node with the records: every difference with its kind. `records`
 * holds every record that is not deleted, on any node (a marker may name one elsewhere);
 * records busy with a job are not judged, since their node state is in motion. A record's
 * container on another node of its cluster, at its VMID, moved there: the record follows
 * (a move, never an orphan), and a container being migrated is not judged at all.
 */
export function classifyDrift(
  node: string,
  onNode: readonly NodeContainerView[],
  records: ReadonlyMap<string, RecordView>,
  cluster: ClusterView = NODE_OF_ITS_OWN,
): Classification {
  const findings: Finding[] = [];
  const observed: Classification["observed"] = [];
  const moves: Move[] = [];
  const claimed = new Map<string, NodeContainerView[]>();
  // A VMID a busy record holds is that record's work in progress, whatever its config shows yet.
  const inMotion = new Set([...records.values()].filter((r) => r.busy && r.node === node).map((r) => r.vmid));
  const migrating = new Set<string>();
  for (const ct of onNode) {
    const owner = markedRecord(ct.tags, ct.description);
    // pve-container src/PVE/LXC/Migrate.pm keeps `lock: migrate` while it moves the container.
    if (ct.lock === "migrate" && !ct.staleLock) {
      if (owner !== null) migrating.add(owner);
      continue;
    }
    // A create still running: its config is a bare placeholder until it finishes.
    if ((ct.lock === "create" && !ct.staleLock) || (owner === null && inMotion.has(ct.vmid))) continue;
    if (owner === null) {
      // A foreign container's stale lock is its owner's to clear: reported, never repaired.
      const lock = ct.staleLock ? `; its stale lock '${ct.staleLock}' is left to its owner` : "";
      findings.push({
        kind: "foreign",
        node,
        vmid: ct.vmid,
        containerId: null,
        detail: `CT ${ct.vmid} carries no Lockstep marker; it is never touched and its VMID stays taken${lock}`,
      });
      continue;
    }
    if (ct.staleLock)
      findings.push({
        kind: "stale-lock",
        node,
        vmid: ct.vmid,
        containerId: owner,
        detail: `stale lock: ${ct.staleLock} (no flock, no task that could own it, past the agent's grace period)`,
      });
    claimed.set(owner, [...(claimed.get(owner) ?? []), ct]);
  }
  for (const [owner, cts] of claimed) {
    const record = records.get(owner);
    if (!record || record.node !== node) {
      if (record?.busy) continue;
      const own = record && cluster.sameCluster(record.node) ? cts.find((ct) => ct.vmid === record.vmid) : undefined;
      if (record && own) {
        moves.push({ containerId: owner, vmid: own.vmid, from: record.node, to: node });
        for (const extra of cts.filter((ct) => ct !== own))
          findings.push({
            kind: "duplicate",
            node,
            vmid: extra.vmid,
            containerId: owner,
            detail: `CT ${extra.vmid} also carries the marker of record ${owner} (its CT ${record.vmid} moved here from ${record.node})`,
          });
        continue;
      }
      for (const ct of cts)
        findings.push({
          kind: "orphan",
          node,
          vmid: ct.vmid,
          containerId: owner,
          detail: `CT ${ct.vmid} carries the marker of record ${owner}, which ${record ? `belongs on ${record.node}` : "is not live"}`,
        });
      continue;
    }
    const own = cts.find((ct) => ct.vmid === record.vmid);
    for (const extra of cts.filter((ct) => ct !== own)) {
      findings.push({
        kind: "duplicate",
        node,
        vmid: extra.vmid,
        containerId: owner,
        detail: `CT ${extra.vmid} also carries the marker of record ${owner} (its CT is ${record.vmid})`,
      });
    }
    if (!own || record.busy) continue;
    observed.push({ containerId: owner, state: own.running ? "running" : "stopped" });
    if (record.status === "running" && !own.running)
      findings.push({
        kind: "state-mismatch",
        node,
        vmid: own.vmid,
        containerId: owner,
        detail: `recorded running, stopped on the node`,
      });
  }
  for (const record of records.values()) {
    if (record.node !== node || record.busy || record.status !== "running" || migrating.has(record.id)) continue;
    if (claimed.get(record.id)?.some((ct) => ct.vmid === record.vmid)) continue;
    // Moved to another node of the cluster: that node's pass finds it and the record follows.
    const holder = cluster.containerNodes.get(record.vmid);
    if (holder !== undefined && holder !== node && cluster.sameCluster(holder)) continue;
    if (!cluster.complete) continue;
    findings.push({
      kind: "missing",
      node,
      vmid: record.vmid,
      containerId: record.id,
      detail: `recorded running as CT ${record.vmid}; no node of its cluster holds a container carrying its marker`,
    });
  }
  return { findings, observed, moves };
}
