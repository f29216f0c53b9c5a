import test from "ava";
import { agentV1, LockstepError, type AgentClient } from "@lockstep/shared";
import { locateContainer } from "../src/containers/locate-container.js";
import type { ClusterMap } from "../src/nodes/node-cluster.js";

const RECORD = "5c7c4c1a-d54b-467c-8c3a-91032df631f0";
const CLUSTER: ClusterMap = new Map(
  ["pve1", "pve2", "pve3"].map((node) => [node, { name: "lab", members: ["pve1", "pve2", "pve3"] }]),
);
const sought = { containerId: RECORD, vmid: 10005, node: "pve1" };

/** Agents whose node holds the record's container while `holds(node, call)` says so; `calls` counts GetContainer per node. */
function agentsWhere(holds: (node: string, call: number) => boolean) {
  const calls = new Map<string, number>();
  const agentFor = (node: string) =>
    ({
      getContainer: async () => {
        const call = (calls.get(node) ?? 0) + 1;
        calls.set(node, call);
        if (!holds(node, call)) throw new LockstepError("NOT_FOUND", `CT 10005 does not exist on ${node}`);
        return {
          container: {
            vmid: 10005,
            tags: [`lockstep-${RECORD}`],
            description: "",
            status: agentV1.ContainerStatus.RUNNING,
            lock: "",
          },
        };
      },
    }) as unknown as AgentClient;
  return { calls, directory: { forNode: async (node: string) => agentFor(node), close: () => undefined } };
}

test("a container missed by one look while it moved between nodes is found by the second, not called absent", async (t) => {
  // Relocated from pve3 to pve1 between the first look at pve1 and the first look at pve3.
  const { directory } = agentsWhere((node, call) => node === "pve1" && call >= 2);
  t.like(await locateContainer(directory, CLUSTER, sought), { kind: "here", running: true });
});

test("a container no node holds in two looks is absent", async (t) => {
  const { directory, calls } = agentsWhere(() => false);
  t.deepEqual(await locateContainer(directory, CLUSTER, sought), { kind: "absent" });
  t.deepEqual(Object.fromEntries(calls), { pve1: 2, pve2: 2, pve3: 2 });
});

test("a container on another node of the cluster has moved there, found in one look", async (t) => {
  const { directory, calls } = agentsWhere((node) => node === "pve3");
  t.deepEqual(await locateContainer(directory, CLUSTER, sought), { kind: "moved", node: "pve3" });
  t.is(calls.get("pve1"), 1);
});
