import { agentV1, LockstepError } from "@lockstep/shared";
import type { AgentDirectory } from "../agents/agent-directory.js";
import { clusterFullyRegistered, clusterPeers, type ClusterMap } from "../nodes/node-cluster.js";
import { markedRecord } from "../reconcile/ownership-marker.js";

/** What a record's container is as its cluster's nodes answer. */
export type Whereabouts =
  /** On the node its record names, carrying the record's marker; `migrating` while pct migrate moves it (`lock: migrate`). */
  | { readonly kind: "here"; readonly migrating: boolean; readonly running: boolean }
  /** On another node of the cluster, carrying the record's marker: it moved there. */
  | { readonly kind: "moved"; readonly node: string }
  /** No node of the cluster has it, and every one of them answered. */
  | { readonly kind: "absent" }
  /** Not on its node, and some place it may be did not answer (or is not registered). */
  | { readonly kind: "unknown"; readonly why: string };

/** The record whose container is looked for. */
export interface Sought {
  readonly containerId: string;
  readonly vmid: number;
  readonly node: string;
}

/**
 * Where a record's container is: first on its own node, then on the other registered nodes
 * of its cluster (one `GetContainer` each). A container counts only with the record's marker
 * at the record's VMID, as the reconciler counts it. A node of its own (no cluster) has no
 * other place to look; a node whose cluster is not known yet, or whose cluster has members
 * the API does not know, can never prove its container absent.
 */
export async function locateContainer(
  agents: AgentDirectory,
  clusters: ClusterMap,
  sought: Sought,
): Promise<Whereabouts> {
  const first = await scan(agents, clusters, sought);
  if (first.kind !== "absent") return first;
  // The nodes are asked one after another: a container moving meanwhile (an HA relocation
  // renames its config from one node's directory to another's) may have left a node not yet
  // asked for one already asked. Absent only when a second look agrees.
  return scan(agents, clusters, sought);
}

async function scan(agents: AgentDirectory, clusters: ClusterMap, sought: Sought): Promise<Whereabouts> {
  const here = await holds(agents, sought.node, sought);
  if (here)
    return {
      kind: "here",
      migrating: here.lock === "migrate",
      running: here.status === agentV1.ContainerStatus.RUNNING,
    };
  const unanswered: string[] = [];
  for (const peer of clusterPeers(clusters, sought.node)) {
    const held = await holds(agents, peer, sought).catch((err: unknown) => {
      unanswered.push(`${peer} (${err instanceof Error ? err.message : String(err)})`);
      return null;
    });
    if (held) return { kind: "moved", node: peer };
  }
  if (unanswered.length > 0)
    return { kind: "unknown", why: `not on ${sought.node}, and ${unanswered.join(", ")} did not answer` };
  if (!clusterFullyRegistered(clusters, sought.node))
    return {
      kind: "unknown",
      why: `not on ${sought.node}, whose cluster is not known or has members that are not registered nodes`,
    };
  return { kind: "absent" };
}

/** The record's container if `node` holds it; NOT_FOUND is "no", any other failure throws. */
async function holds(agents: AgentDirectory, node: string, sought: Sought): Promise<agentV1.Container | null> {
  let container: agentV1.Container | undefined;
  try {
    container = (await (await agents.forNode(node)).getContainer({ vmid: sought.vmid })).container;
  } catch (err) {
    if (err instanceof LockstepError && err.code === "NOT_FOUND") return null;
    throw err;
  }
  return container !== undefined && markedRecord(container.tags, container.description) === sought.containerId
    ? container
    : null;
}
